#include "ir_check.h"

#include <catch2/catch.hpp>
#include <regex>
#include <sstream>
#include <vector>

namespace tessera::test {

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    out.push_back(l);
  }
  return out;
}

/** A printed IR line without its `# file.cpp:42` location: patterns match what the IR says. */
std::string without_location(const std::string& line) {
  static const std::regex loc(R"(#\s+\S+:\d+)");
  return std::regex_replace(line, loc, "");
}

std::string trim(const std::string& s) {
  const std::size_t b = s.find_first_not_of(' ');
  const std::size_t e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

} // namespace

void check_ir(const std::string& ir, const std::string& pattern) {
  std::vector<std::string> lines = lines_of(ir);
  for (std::string& l : lines) {
    l = without_location(l);
  }
  // Matching resumes where the last match ended: on the same line (a later part of it) or after.
  std::size_t pos = 0, col = 0;
  std::size_t last = 0; // the line after the last matched one (for CHECK-NEXT)
  std::vector<std::string> pending_not;
  auto contains = [](const std::string& line, const std::string& text, std::size_t from = 0) {
    return from <= line.size() && line.find(text, from) != std::string::npos;
  };
  for (const std::string& raw : lines_of(pattern)) {
    const std::string d = trim(raw);
    if (d.empty()) {
      continue;
    }
    INFO("IR:\n" << ir << "\ndirective: " << d);
    const std::size_t colon = d.find(": ");
    REQUIRE(colon != std::string::npos);
    const std::string kind = d.substr(0, colon);
    const std::string text = d.substr(colon + 2);
    if (kind == "CHECK-NOT") {
      pending_not.push_back(text);
      continue;
    }
    if (kind.rfind("CHECK-COUNT-", 0) == 0) {
      const int want = std::stoi(kind.substr(12));
      int got = 0;
      for (const std::string& l : lines) {
        got += contains(l, text) ? 1 : 0;
      }
      CHECK(got == want);
      continue;
    }
    std::size_t found = lines.size(), at = 0;
    if (kind == "CHECK-NEXT") {
      if (last < lines.size() && contains(lines[last], text)) {
        found = last;
        at = lines[last].find(text);
      }
    } else {
      REQUIRE(kind == "CHECK");
      for (std::size_t i = pos; i < lines.size(); ++i) {
        const std::size_t from = i == pos ? col : 0;
        if (contains(lines[i], text, from)) {
          found = i;
          at = lines[i].find(text, from);
          break;
        }
      }
    }
    REQUIRE(found < lines.size());
    for (const std::string& n : pending_not) {
      for (std::size_t i = pos; i < found; ++i) {
        INFO("CHECK-NOT: " << n << " matched line " << i << ": " << lines[i]);
        CHECK_FALSE(contains(lines[i], n));
      }
    }
    pending_not.clear();
    pos = found;
    col = at + text.size();
    last = found + 1;
  }
  for (const std::string& n : pending_not) { // a trailing CHECK-NOT: to the end
    for (std::size_t i = pos; i < lines.size(); ++i) {
      INFO("IR:\n" << ir << "\nCHECK-NOT: " << n << " matched line " << i << ": " << lines[i]);
      CHECK_FALSE(contains(lines[i], n));
    }
  }
}

std::string ir_after(const ir::Kernel& kernel, const std::string& pass,
                     const ops::TargetInfo* target) {
  codegen::LowerOptions options;
  options.target = target;
  std::vector<codegen::PassRecord> records;
  codegen::lower(kernel, options, &records);
  for (const codegen::PassRecord& r : records) {
    if (r.pass == pass) {
      return r.ir;
    }
  }
  FAIL("no pass named " << pass);
  return "";
}

} // namespace tessera::test
