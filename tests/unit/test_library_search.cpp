#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "core/ld_cache.h"
#include "sys/library_search.h"

namespace xeonplace {
namespace {

// A temporary directory tree with fake library files (search only needs readable regular files).
class FakeLibraries : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/xp-libsearch-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + root_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string dir(const std::string& name) {
    std::string path = root_ + "/" + name;
    std::string cmd = "mkdir -p '" + path + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return path;
  }
  std::string touch(const std::string& directory, const std::string& name) {
    std::string path = directory + "/" + name;
    std::ofstream(path) << "not really ELF\n";
    return path;
  }
  std::string root_;
};

LibraryRequest request_for(Allocator allocator) {
  Config c;
  c.allocator = allocator;
  c.omp_runtime = OmpRuntime::Default;
  return requested_libraries(c).at(0);
}

TEST_F(FakeLibraries, TheFirstDirectoryInOrderWins) {
  auto first = dir("conda/lib");
  auto second = dir("usr/lib");
  touch(first, "libjemalloc.so.2");
  touch(second, "libjemalloc.so.2");
  auto found = find_library(request_for(Allocator::Jemalloc), {{first, second}, ""});
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(*found, first + "/libjemalloc.so.2");
}

TEST_F(FakeLibraries, VersionedSonameIsFoundWhenTheUnversionedNameIsAbsent) {
  auto d = dir("multiarch");
  touch(d, "libtcmalloc_minimal.so.4");
  auto found = find_library(request_for(Allocator::Tcmalloc), {{d}, ""});
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(*found, d + "/libtcmalloc_minimal.so.4");
}

TEST_F(FakeLibraries, AutoPrefersTcmallocInALaterDirectoryOverJemallocInAnEarlierOne) {
  auto early = dir("early");
  auto late = dir("late");
  touch(early, "libjemalloc.so.2");
  touch(late, "libtcmalloc.so.4");
  auto found = find_library(request_for(Allocator::Auto), {{early, late}, ""});
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(*found, late + "/libtcmalloc.so.4");
}

TEST_F(FakeLibraries, AutoFallsBackToJemalloc) {
  auto d = dir("d");
  touch(d, "libjemalloc.so.2");
  auto found = find_library(request_for(Allocator::Auto), {{d}, ""});
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(*found, d + "/libjemalloc.so.2");
}

TEST_F(FakeLibraries, ADirectoryWithTheNameIsNotALibrary) {
  auto d = dir("d");
  dir("d/libjemalloc.so.2");
  auto found = find_library(request_for(Allocator::Jemalloc), {{d}, ""});
  EXPECT_FALSE(found.ok());
}

TEST_F(FakeLibraries, NotFoundSaysWhatWhereAndWhichPackage) {
  auto d = dir("empty");
  auto found = find_library(request_for(Allocator::Jemalloc), {{d}, ""});
  ASSERT_FALSE(found.ok());
  const std::string& m = found.error().message;
  EXPECT_NE(m.find("XEONRUN_ALLOCATOR"), std::string::npos) << m;
  EXPECT_NE(m.find("libjemalloc.so.2"), std::string::npos) << m;
  EXPECT_NE(m.find(d), std::string::npos) << m;
  EXPECT_NE(m.find("install libjemalloc2"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

TEST_F(FakeLibraries, AnAbsolutePathWinsOverTheSearch) {
  auto d = dir("d");
  touch(d, "libjemalloc.so.2");
  auto elsewhere = touch(dir("opt"), "libjemalloc.so.2");
  Config c;
  c.allocator = Allocator::Jemalloc;
  c.allocator_path = elsewhere;
  auto found = find_library(requested_libraries(c).at(0), {{d}, ""});
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(*found, elsewhere);
}

TEST_F(FakeLibraries, ARelativePathIsRejectedEvenWhenTheFileExistsHere) {
  auto d = dir("cwd");
  touch(d, "libjemalloc.so.2");
  char old[4096];
  ASSERT_NE(getcwd(old, sizeof old), nullptr);
  ASSERT_EQ(chdir(d.c_str()), 0);
  LibraryRequest r{LibraryRole::Allocator, "x", {"./libjemalloc.so.2"}, "libjemalloc2", true};
  auto found = find_library(r, {{d}, ""});
  ASSERT_EQ(chdir(old), 0);
  ASSERT_FALSE(found.ok());
  EXPECT_NE(found.error().message.find("relative path"), std::string::npos);
}

TEST_F(FakeLibraries, APathLdPreloadCannotCarryIsRejected) {
  auto d = dir("a:b");
  auto path = touch(d, "libjemalloc.so.2");
  LibraryRequest r{LibraryRole::Allocator, "x", {path}, "libjemalloc2", true};
  EXPECT_FALSE(find_library(r, {{}, ""}).ok());
}

TEST_F(FakeLibraries, AMissingAbsolutePathIsAnErrorNamingTheVariable) {
  LibraryRequest r{LibraryRole::OmpRuntime, "x", {root_ + "/nope/libiomp5.so"}, "p", true};
  auto found = find_library(r, {{}, ""});
  ASSERT_FALSE(found.ok());
  EXPECT_NE(found.error().message.find("XEONRUN_OMP_RUNTIME"), std::string::npos);
}

TEST_F(FakeLibraries, TheLoaderCacheFindsWhatNoDirectoryHas) {
  // libc.so.6 is in every loader cache and in none of these (empty) directories.
  auto d = dir("empty");
  LibraryRequest r{LibraryRole::Allocator, "libc", {"libc.so.6"}, "libc6", false};
  auto found = find_library(r, {{d}, "/etc/ld.so.cache"});
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->rfind('/'), found->size() - std::string("/libc.so.6").size()) << *found;
  EXPECT_EQ(access(found->c_str(), R_OK), 0) << *found;
  EXPECT_FALSE(find_library(r, {{d}, ""}).ok());  // and without the cache it is not found
}

TEST_F(FakeLibraries, DirectoriesComeBeforeTheLoaderCache) {
  auto d = dir("first");
  touch(d, "libc.so.6");
  LibraryRequest r{LibraryRole::Allocator, "libc", {"libc.so.6"}, "libc6", false};
  auto found = find_library(r, {{d}, "/etc/ld.so.cache"});
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(*found, d + "/libc.so.6");
}

TEST(LibrarySearchPlaces, RunCpusDirectoriesThenMultiarchThenTheLoaderCache) {
  EnvMap env = {{"CONDA_PREFIX", "/conda"}, {"VIRTUAL_ENV", "/venv"}, {"HOME", "/home/u"}};
  auto places = library_search_places(env, false);
  std::vector<std::string> expected = {"/conda/lib",     "/venv/lib",        "/home/u/.local/lib",
                                       "/usr/local/lib", "/usr/local/lib64", "/usr/lib",
                                       "/usr/lib64"};
#if defined(__x86_64__)
  expected.push_back("/usr/lib/x86_64-linux-gnu");
  expected.push_back("/lib/x86_64-linux-gnu");
#endif
  EXPECT_EQ(places.directories, expected);
  EXPECT_EQ(places.ld_cache_path, "/etc/ld.so.cache");
}

TEST(LibrarySearchPlaces, RelativeDirectoriesFromTheEnvironmentAreSkipped) {
  EnvMap env = {{"CONDA_PREFIX", "conda"}, {"VIRTUAL_ENV", ""}, {"HOME", "."}};
  auto places = library_search_places(env, false);
  for (const auto& d : places.directories) EXPECT_EQ(d[0], '/') << d;
  EXPECT_EQ(places.directories.front(), "/usr/local/lib");
}

TEST(LibrarySearchPlaces, SecureExecutionUsesOnlySystemDirectories) {
  EnvMap env = {{"CONDA_PREFIX", "/conda"}, {"HOME", "/home/u"}};
  auto places = library_search_places(env, true);
  for (const auto& d : places.directories) {
    EXPECT_TRUE(d.rfind("/usr/lib", 0) == 0 || d.rfind("/lib", 0) == 0) << d;
  }
  EXPECT_TRUE(places.ld_cache_path.empty());
}

// The parser against the real cache of this machine: it must agree with `ldconfig -p`.
TEST(ParseLdCache, AgreesWithLdconfigOnThisMachine) {
  std::ifstream in("/etc/ld.so.cache", std::ios::binary);
  ASSERT_TRUE(in) << "no /etc/ld.so.cache";
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto entries = parse_ld_cache(bytes);
  ASSERT_FALSE(entries.empty());
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen("ldconfig -p", "r"), pclose);
  ASSERT_TRUE(p);
  std::string listing;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p.get())) listing.append(buf, n);
  bool found_libc = false;
  for (const auto& e : entries) {
    EXPECT_NE(listing.find(e.soname + " "), std::string::npos) << e.soname;
    EXPECT_NE(listing.find("=> " + e.path + "\n"), std::string::npos) << e.path;
    found_libc = found_libc || e.soname == "libc.so.6";
  }
  EXPECT_TRUE(found_libc);
}

TEST(LoadedObjects, ListsLibcOfThisProcess) {
  bool libc = false;
  for (const auto& path : loaded_objects()) {
    libc = libc || path.find("libc.so.6") != std::string::npos;
  }
  EXPECT_TRUE(libc);
}

}  // namespace
}  // namespace xeonplace
