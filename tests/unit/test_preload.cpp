#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "core/ld_cache.h"
#include "core/preload.h"

namespace xeonplace {
namespace {

Config config_with(Allocator allocator, OmpRuntime runtime) {
  Config c;
  c.allocator = allocator;
  c.omp_runtime = runtime;
  return c;
}

std::string value_of(const std::vector<EnvVar>& env, const std::string& name) {
  for (const auto& v : env) {
    if (v.name == name) return v.value;
  }
  return "<unset>";
}

TEST(RequestedLibraries, AutoAsksForTcmallocThenJemallocThenTheIntelRuntime) {
  auto requests = requested_libraries(config_with(Allocator::Auto, OmpRuntime::Intel));
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].role, LibraryRole::Allocator);
  EXPECT_FALSE(requests[0].explicit_choice);
  ASSERT_GE(requests[0].names.size(), 2u);
  EXPECT_EQ(requests[0].names.front(), "libtcmalloc.so.4");
  EXPECT_EQ(requests[0].names.back(), "libjemalloc.so");
  EXPECT_NE(requests[0].packages.find("libjemalloc2"), std::string::npos);
  EXPECT_EQ(requests[1].role, LibraryRole::OmpRuntime);
  EXPECT_EQ(requests[1].names.front(), "libiomp5.so");
  EXPECT_NE(std::find(requests[1].names.begin(), requests[1].names.end(), "libomp.so.5"),
            requests[1].names.end());
}

TEST(RequestedLibraries, DefaultAllocatorAndDefaultRuntimeAskForNothing) {
  EXPECT_TRUE(requested_libraries(config_with(Allocator::Default, OmpRuntime::Default)).empty());
}

TEST(RequestedLibraries, ExplicitJemallocAsksOnlyForJemallocVersionedFirst) {
  auto requests = requested_libraries(config_with(Allocator::Jemalloc, OmpRuntime::Default));
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(requests[0].explicit_choice);
  EXPECT_EQ(requests[0].names, (std::vector<std::string>{"libjemalloc.so.2", "libjemalloc.so"}));
  EXPECT_EQ(requests[0].packages, "libjemalloc2");
}

TEST(RequestedLibraries, MimallocAndTcmalloc) {
  auto mi = requested_libraries(config_with(Allocator::Mimalloc, OmpRuntime::Default));
  ASSERT_EQ(mi.size(), 1u);
  EXPECT_EQ(mi[0].names.front(), "libmimalloc.so.2");
  EXPECT_EQ(mi[0].packages, "libmimalloc2.0");
  auto tc = requested_libraries(config_with(Allocator::Tcmalloc, OmpRuntime::Default));
  ASSERT_EQ(tc.size(), 1u);
  EXPECT_NE(std::find(tc[0].names.begin(), tc[0].names.end(), "libtcmalloc_minimal.so.4"),
            tc[0].names.end());
}

TEST(RequestedLibraries, AnAbsolutePathIsTheOnlyCandidate) {
  Config c = config_with(Allocator::Jemalloc, OmpRuntime::Intel);
  c.allocator_path = "/opt/x/libjemalloc.so.2";
  c.omp_runtime_path = "/opt/intel/libiomp5.so";
  auto requests = requested_libraries(c);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].names, (std::vector<std::string>{"/opt/x/libjemalloc.so.2"}));
  EXPECT_EQ(requests[1].names, (std::vector<std::string>{"/opt/intel/libiomp5.so"}));
  EXPECT_TRUE(requests[0].explicit_choice);
  EXPECT_TRUE(requests[1].explicit_choice);
}

TEST(LibraryRole, RecognisesAllocatorsAndOpenMpRuntimesByFileName) {
  EXPECT_EQ(library_role("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"), LibraryRole::Allocator);
  EXPECT_EQ(library_role("libtcmalloc_minimal.so.4"), LibraryRole::Allocator);
  EXPECT_EQ(library_role("libmimalloc.so"), LibraryRole::Allocator);
  EXPECT_EQ(library_role("/x/libgomp.so.1"), LibraryRole::OmpRuntime);
  EXPECT_EQ(library_role("libiomp5.so"), LibraryRole::OmpRuntime);
  EXPECT_EQ(library_role("libomp.so.5"), LibraryRole::OmpRuntime);
  EXPECT_EQ(library_role("/lib/libc.so.6"), std::nullopt);
  EXPECT_EQ(library_role("libompitrace.so"), std::nullopt);
  EXPECT_FALSE(is_openmp_runtime("libomptarget.so"));
}

TEST(SplitLdPreload, SplitsOnColonsAndBlanksAndDropsEmptyEntries) {
  EXPECT_EQ(split_ld_preload(" /a.so::b.so\t/c.so: "),
            (std::vector<std::string>{"/a.so", "b.so", "/c.so"}));
  EXPECT_TRUE(split_ld_preload("").empty());
}

ChainLoadInput typical_input() {
  ChainLoadInput in;
  in.found = {{LibraryRole::Allocator, "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4", false},
              {LibraryRole::OmpRuntime, "/usr/lib/x86_64-linux-gnu/libiomp5.so", false}};
  in.loaded = {"/lib/x86_64-linux-gnu/libc.so.6", "/opt/xp/lib/libxeonplace.so"};
  in.self_path = "/opt/xp/lib/libxeonplace.so";
  in.env = {{"LD_PRELOAD", "/opt/xp/lib/libxeonplace.so"}};
  return in;
}

TEST(ComposeChainLoad, AllocatorThenRuntimeThenTheExistingEntries) {
  auto chain = compose_chain_load(typical_input());
  EXPECT_EQ(value_of(chain.env, "LD_PRELOAD"),
            "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4:/usr/lib/x86_64-linux-gnu/libiomp5.so:"
            "/opt/xp/lib/libxeonplace.so");
  EXPECT_EQ(chain.added.size(), 2u);
  EXPECT_TRUE(chain.warnings.empty());
  EXPECT_EQ(value_of(chain.env, "MALLOC_CONF"), "<unset>");
}

TEST(ComposeChainLoad, KeepsOtherPreloadedLibrariesInTheirOrder) {
  auto in = typical_input();
  in.env["LD_PRELOAD"] = "/x/libfoo.so /opt/xp/lib/libxeonplace.so:/y/libbar.so";
  auto chain = compose_chain_load(in);
  EXPECT_EQ(value_of(chain.env, "LD_PRELOAD"),
            "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4:/usr/lib/x86_64-linux-gnu/libiomp5.so:"
            "/x/libfoo.so:/opt/xp/lib/libxeonplace.so:/y/libbar.so");
}

TEST(ComposeChainLoad, ASanitizerRuntimeStaysFirst) {
  auto in = typical_input();
  in.env["LD_PRELOAD"] = "/usr/lib/x86_64-linux-gnu/libasan.so.8 /opt/xp/lib/libxeonplace.so";
  auto chain = compose_chain_load(in);
  EXPECT_EQ(value_of(chain.env, "LD_PRELOAD"),
            "/usr/lib/x86_64-linux-gnu/libasan.so.8:/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4:"
            "/usr/lib/x86_64-linux-gnu/libiomp5.so:/opt/xp/lib/libxeonplace.so");
}

TEST(ComposeChainLoad, AppendsItselfWhenNotInLdPreload) {
  auto in = typical_input();
  in.env.erase("LD_PRELOAD");
  auto chain = compose_chain_load(in);
  EXPECT_EQ(value_of(chain.env, "LD_PRELOAD"),
            "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4:/usr/lib/x86_64-linux-gnu/libiomp5.so:"
            "/opt/xp/lib/libxeonplace.so");
}

TEST(ComposeChainLoad, AnAllocatorAlreadyPreloadedIsNotAddedTwice) {
  auto in = typical_input();
  in.env["LD_PRELOAD"] = "libtcmalloc.so.4:/opt/xp/lib/libxeonplace.so";
  auto chain = compose_chain_load(in);
  ASSERT_EQ(chain.added, (std::vector<std::string>{"/usr/lib/x86_64-linux-gnu/libiomp5.so"}));
  EXPECT_EQ(value_of(chain.env, "LD_PRELOAD"),
            "/usr/lib/x86_64-linux-gnu/libiomp5.so:libtcmalloc.so.4:/opt/xp/lib/libxeonplace.so");
}

TEST(ComposeChainLoad, LibrariesAlreadyLoadedNeedNoReexec) {
  auto in = typical_input();
  in.loaded.push_back("/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4");
  in.loaded.push_back("/usr/lib/llvm-14/lib/libomp.so.5");
  auto chain = compose_chain_load(in);
  EXPECT_TRUE(chain.added.empty());
  EXPECT_TRUE(chain.env.empty());
}

TEST(ComposeChainLoad, LibgompLoadedDoesNotCountAsTheIntelRuntime) {
  auto in = typical_input();
  in.loaded.push_back("/lib/x86_64-linux-gnu/libgomp.so.1");
  auto chain = compose_chain_load(in);
  EXPECT_EQ(chain.added.size(), 2u);
}

TEST(ComposeChainLoad, ExplicitAllocatorWarnsWhenAnotherAllocatorIsAlreadyThere) {
  auto in = typical_input();
  in.found = {{LibraryRole::Allocator, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", true}};
  in.env["LD_PRELOAD"] = "/usr/lib/libtcmalloc.so:/opt/xp/lib/libxeonplace.so";
  auto chain = compose_chain_load(in);
  EXPECT_TRUE(chain.added.empty());
  ASSERT_EQ(chain.warnings.size(), 1u);
  EXPECT_NE(chain.warnings[0].find("libtcmalloc.so"), std::string::npos);
}

TEST(ComposeChainLoad, ExplicitJemallocGetsRunCpusMallocConfUnlessSet) {
  auto in = typical_input();
  in.found = {{LibraryRole::Allocator, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", true}};
  EXPECT_EQ(value_of(compose_chain_load(in).env, "MALLOC_CONF"),
            "oversize_threshold:1,background_thread:true,metadata_thp:auto");
  in.env["MALLOC_CONF"] = "narenas:2";
  EXPECT_EQ(value_of(compose_chain_load(in).env, "MALLOC_CONF"), "<unset>");
}

TEST(ComposeChainLoad, JemallocChosenByAutoGetsNoMallocConf) {
  auto in = typical_input();
  in.found = {{LibraryRole::Allocator, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", false}};
  EXPECT_EQ(value_of(compose_chain_load(in).env, "MALLOC_CONF"), "<unset>");
}

TEST(ComposeChainLoad, BenchmarkGivesAnyAddedJemallocIpexrunsBenchmarkMallocConf) {
  auto in = typical_input();
  in.benchmark = true;
  for (bool explicit_choice : {true, false}) {
    in.found = {
        {LibraryRole::Allocator, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", explicit_choice}};
    EXPECT_EQ(value_of(compose_chain_load(in).env, "MALLOC_CONF"),
              "oversize_threshold:1,background_thread:false,metadata_thp:always,"
              "dirty_decay_ms:-1,muzzy_decay_ms:-1");
  }
  in.env["MALLOC_CONF"] = "narenas:2";
  const ChainLoad kept = compose_chain_load(in);
  EXPECT_EQ(value_of(kept.env, "MALLOC_CONF"), "<unset>");
  ASSERT_EQ(kept.warnings.size(), 1u);
  EXPECT_NE(kept.warnings[0].find("XEONRUN_BENCHMARK: MALLOC_CONF=narenas:2"), std::string::npos);
  // tcmalloc has no such settings in ipexrun: nothing is set.
  in.env.erase("MALLOC_CONF");
  in.found = {{LibraryRole::Allocator, "/usr/lib/libtcmalloc.so.4", true}};
  EXPECT_EQ(value_of(compose_chain_load(in).env, "MALLOC_CONF"), "<unset>");
}

TEST(MallocSanitizer, FindsTheRuntimesThatReplaceMallocOnly) {
  EXPECT_EQ(malloc_sanitizer({"/lib/libc.so.6", "/usr/lib/x86_64-linux-gnu/libasan.so.8"}),
            "/usr/lib/x86_64-linux-gnu/libasan.so.8");
  EXPECT_EQ(malloc_sanitizer({"/x/libclang_rt.asan-x86_64.so"}), "/x/libclang_rt.asan-x86_64.so");
  for (const char* name : {"libtsan.so.2", "libhwasan.so.0", "liblsan.so.0"}) {
    EXPECT_EQ(malloc_sanitizer({name}), name);
  }
  EXPECT_EQ(malloc_sanitizer({"/lib/libubsan.so.1", "/lib/libc.so.6"}), "");
  EXPECT_EQ(malloc_sanitizer({}), "");
}

TEST(LibrariesNotLoaded, ALibraryLdSoRefusedIsReportedAndAServedRoleIsNot) {
  std::vector<FoundLibrary> found = {{LibraryRole::Allocator, "/tmp/x/libjemalloc.so.2", true},
                                     {LibraryRole::OmpRuntime, "/usr/lib/libiomp5.so", false}};
  std::vector<std::string> loaded = {"/lib/libc.so.6", "/usr/lib/libiomp5.so", "/lib/libgomp.so.1"};
  EXPECT_EQ(libraries_not_loaded(found, loaded),
            (std::vector<std::string>{"/tmp/x/libjemalloc.so.2"}));
  loaded.push_back("/usr/lib/libtcmalloc.so.4");  // another allocator serves: nothing to warn
  EXPECT_TRUE(libraries_not_loaded(found, loaded).empty());
  EXPECT_EQ(libraries_not_loaded({found[1]}, {"/lib/libgomp.so.1"}),
            (std::vector<std::string>{"/usr/lib/libiomp5.so"}));
}

TEST(RuntimeEnvDiffers, ComparesEveryPlannedValueWithWhatTheRuntimeSaw) {
  std::vector<EnvVar> planned = {{"OMP_NUM_THREADS", "1"}, {"OMP_PROC_BIND", "close"}};
  EXPECT_TRUE(runtime_env_differs(planned, {}));
  EXPECT_TRUE(runtime_env_differs(planned, {{"OMP_NUM_THREADS", "1"}}));
  EXPECT_FALSE(
      runtime_env_differs(planned, {{"OMP_NUM_THREADS", "1"}, {"OMP_PROC_BIND", "close"}}));
  EXPECT_FALSE(runtime_env_differs({}, {}));
}

TEST(GuardState, OnlyTheSamePidStopsAReexec) {
  EXPECT_EQ(guard_state({}, 42), GuardState::Absent);
  EXPECT_EQ(guard_state({{"XEONRUN_REEXEC_GUARD", "42"}}, 42), GuardState::ThisImage);
  EXPECT_EQ(guard_state({{"XEONRUN_REEXEC_GUARD", "41"}}, 42), GuardState::Inherited);
  auto env = guard_env(42, "python3");
  EXPECT_EQ(value_of(env, "XEONRUN_REEXEC_GUARD"), "42");
  EXPECT_EQ(value_of(env, "XEONRUN_REEXEC_NAME"), "python3");
}

TEST(ComposeEnvp, ReplacesInPlaceAppendsNewAndKeepsTheRestByteForByte) {
  std::vector<std::string> env = {
      "A=1", "LD_PRELOAD=/x.so", "ODD", "B=has=equals\nand newline", "LD_PRELOAD=dup", "EMPTY="};
  auto out = compose_envp(env, {{"LD_PRELOAD", "/j.so:/x.so"}, {"OMP_NUM_THREADS", "1"}});
  EXPECT_EQ(out,
            (std::vector<std::string>{"A=1", "LD_PRELOAD=/j.so:/x.so", "ODD",
                                      "B=has=equals\nand newline", "EMPTY=", "OMP_NUM_THREADS=1"}));
}

TEST(RemoveFromEnvp, DropsNamesAndPrefixes) {
  std::vector<std::string> env = {"XEONRUN_PLACED_RANK=0", "XEONRUN_RANK=0", "HOME=/root",
                                  "XEONRUN_PLACED_CPUS=0"};
  EXPECT_EQ(remove_from_envp(env, {"HOME"}, {"XEONRUN_PLACED_"}),
            (std::vector<std::string>{"XEONRUN_RANK=0"}));
}

TEST(SplitCmdline, KeepsEmptyArgumentsSpacesAndNewlines) {
  std::string bytes("prog\0a b\0\0line1\nline2\0", 22);
  EXPECT_EQ(split_cmdline(bytes), (std::vector<std::string>{"prog", "a b", "", "line1\nline2"}));
  EXPECT_TRUE(split_cmdline("").empty());
}

// A glibc-ld.so.cache1.1 image with the given (flags, soname, path) entries.
std::string make_cache(const std::vector<std::tuple<std::uint32_t, std::string, std::string>>& libs,
                       const std::string& old_prefix = "") {
  std::string header("glibc-ld.so.cache1.1", 20);
  auto u32 = [](std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  const std::size_t entries = 48 + 24 * libs.size();
  std::string strings;
  std::string table;
  for (const auto& [flags, key, value] : libs) {
    const auto key_at = static_cast<std::uint32_t>(entries + strings.size());
    strings += key + '\0';
    const auto value_at = static_cast<std::uint32_t>(entries + strings.size());
    strings += value + '\0';
    table += u32(flags) + u32(key_at) + u32(value_at) + u32(0) + std::string(8, '\0');
  }
  header += u32(static_cast<std::uint32_t>(libs.size())) +
            u32(static_cast<std::uint32_t>(strings.size()));
  header += std::string(48 - header.size(), '\0');
  return old_prefix + header + table + strings;
}

TEST(ParseLdCache, ReadsSonameAndPathOfThisArchitecturesLibraries) {
  auto bytes =
      make_cache({{0x0303, "libjemalloc.so.2", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"},
                  {0x0003, "libfoo.so.1", "/usr/lib32/libfoo.so.1"},
                  {0x0303, "libomp.so.5", "/usr/lib/x86_64-linux-gnu/libomp.so.5"}});
  auto entries = parse_ld_cache(bytes);
#if defined(__x86_64__)
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].soname, "libjemalloc.so.2");
  EXPECT_EQ(entries[0].path, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");
  EXPECT_EQ(entries[1].soname, "libomp.so.5");
#endif
}

TEST(ParseLdCache, FindsTheNewTableAfterAnOldFormatOne) {
  std::string old("ld.so-1.7.0\0", 12);
  std::uint32_t one = 1;
  old += std::string(reinterpret_cast<const char*>(&one), 4) + std::string(12, '\0');
  old += std::string(((old.size() + 7) & ~std::size_t{7}) - old.size(), '\0');
  auto bytes = make_cache({{0x0303, "libjemalloc.so.2", "/j/libjemalloc.so.2"}}, old);
  // String offsets of the new format count from its own header.
  auto entries = parse_ld_cache(bytes);
#if defined(__x86_64__)
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].path, "/j/libjemalloc.so.2");
#endif
}

TEST(ParseLdCache, TruncatedOrForeignBytesYieldNoCrashAndNoGarbage) {
  auto bytes = make_cache({{0x0303, "libjemalloc.so.2", "/j/libjemalloc.so.2"}});
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    for (const auto& e : parse_ld_cache(bytes.substr(0, cut))) {
      EXPECT_EQ(e.path, "/j/libjemalloc.so.2");
    }
  }
  EXPECT_TRUE(parse_ld_cache("not a cache at all").empty());
}

}  // namespace
}  // namespace xeonplace
