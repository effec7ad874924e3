// The unit tests' way to load a fixture of tests/fixtures and to plan on it: one copy for the
// planner's test files (a failure to load or plan is a test failure, and the test goes on with an
// empty value).
#ifndef XEONPLACE_TESTS_UNIT_FIXTURES_H
#define XEONPLACE_TESTS_UNIT_FIXTURES_H

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/lscpu.h"
#include "core/planner.h"
#include "sys/topology_source.h"

namespace xeonplace::test {

// An lscpu dump, `name` relative to tests/fixtures.
inline Topology lscpu_fixture(const std::string& name) {
  std::ifstream in(std::string(XEONPLACE_FIXTURES) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream text;
  text << in.rdbuf();
  Expected<Topology> topology = parse_lscpu(text.str(), "lscpu:" + name);
  EXPECT_TRUE(topology.ok()) << (topology.ok() ? "" : topology.error().message);
  return topology.ok() ? std::move(topology).value() : Topology{};
}

// An hwloc XML export, `name` relative to tests/fixtures, for what an lscpu dump cannot say (CPU
// kinds, CPU-less nodes, cgroups, L3 domains).
inline Topology xml_fixture(const std::string& name) {
  Expected<Topology> topology = load_hwloc_xml(std::string(XEONPLACE_FIXTURES) + "/" + name);
  EXPECT_TRUE(topology.ok()) << (topology.ok() ? "" : topology.error().message);
  return topology.ok() ? std::move(topology).value() : Topology{};
}

inline Plan planned(const Topology& topology, const Config& config) {
  Expected<Plan> result = plan(topology, config);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  return result.ok() ? std::move(result).value() : Plan{};
}

}  // namespace xeonplace::test

#endif
