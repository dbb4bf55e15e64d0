// LineBatch tests: lines from several Loggers keep their order, reach a file sink whole and
// in one piece, reach a sink without write_lines line by line, and a flushed batch is empty.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "log/logger.h"
#include "log/memory_sink.h"

namespace estafeta::log {
namespace {

TEST(LineBatch, KeepsOrderAcrossLoggersOnOneSink) {
  auto sink = std::make_shared<MemorySink>();
  Logger qmgr(sink, "estafeta/qmgr");
  Logger local(sink, "estafeta/local");
  {
    LineBatch batch;
    batch.add(local, "A: to=<a@x>, status=sent");
    batch.add(qmgr, "A: removed");
    batch.add(local, "B: to=<b@x>, status=sent");
    EXPECT_TRUE(sink->lines().empty()) << "written before flush";
    batch.flush();
    batch.flush();  // nothing twice
  }
  EXPECT_EQ(sink->lines(), (std::vector<std::string>{"estafeta/local: A: to=<a@x>, status=sent",
                                                     "estafeta/qmgr: A: removed",
                                                     "estafeta/local: B: to=<b@x>, status=sent"}));
}

TEST(LineBatch, FileSinkGetsWholePrefixedLines) {
  char dir[] = "/tmp/estafeta-log-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/maillog";
  std::string error;
  auto sink = make_file_sink(path, "mx.example", &error);
  ASSERT_NE(sink, nullptr) << error;
  {
    Logger qmgr(sink, "estafeta/qmgr");
    LineBatch batch;
    batch.add(qmgr, "one");
    batch.add(qmgr, "two");
  }  // the destructor flushes
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  const std::regex re(
      "[A-Z][a-z]{2} [ 0-9]\\d \\d\\d:\\d\\d:\\d\\d mx\\.example estafeta/qmgr\\[\\d+\\]: one\\n"
      "[A-Z][a-z]{2} [ 0-9]\\d \\d\\d:\\d\\d:\\d\\d mx\\.example estafeta/qmgr\\[\\d+\\]: two\\n");
  EXPECT_TRUE(std::regex_match(all.str(), re)) << all.str();
  ::unlink(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace estafeta::log
