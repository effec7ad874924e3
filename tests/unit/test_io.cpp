// sys/io: the one write-all loop and the one whole-file reader, on this machine's files and pipes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "sys/io.h"

namespace xeonplace {
namespace {

// A file in a fresh directory of TMPDIR (or /tmp), removed with the directory.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/xeonplace-io-XXXXXX";
    path_ = ::mkdtemp(pattern.data()) ? pattern : std::string();
  }
  ~TempDir() {
    ::unlink(file().c_str());
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string file() const { return path_ + "/file"; }

 private:
  std::string path_;
};

TEST(Io, WriteAllThenReadWholeFileGiveBackEveryByte) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string text(200000, 'x');
  text[0] = '\0';  // binary content, not a C string
  text.back() = '\n';
  ASSERT_TRUE(write_whole_file(dir.file(), text).ok());
  auto read = read_whole_file(dir.file());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, text);
  ASSERT_TRUE(write_whole_file(dir.file(), "short").ok());
  EXPECT_EQ(*read_whole_file(dir.file()), "short");  // replaced, not appended
}

TEST(Io, ReadWholeFileSaysWhatWentWrongWithoutTheName) {
  TempDir dir;
  auto missing = read_whole_file(dir.path() + "/missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "cannot open: No such file or directory");
  auto directory = read_whole_file(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().message, "not a regular file");
  // A device would never end: refused before reading.
  auto device = read_whole_file("/dev/zero");
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().message, "not a regular file");
}

TEST(Io, ReadWholeFileStopsAtItsLimit) {
  TempDir dir;
  ASSERT_TRUE(write_whole_file(dir.file(), std::string(100, 'x')).ok());
  EXPECT_TRUE(read_whole_file(dir.file(), 100).ok());
  auto big = read_whole_file(dir.file(), 99);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message, "larger than 99 bytes");
}

TEST(Io, WriteAllDeliversMoreThanAPipeHoldsAtOnce) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string text(1 << 20, 'y');  // more than a pipe's 64 KiB: short writes happen
  const pid_t reader = ::fork();
  ASSERT_GE(reader, 0);
  if (reader == 0) {
    ::close(fds[1]);
    char buffer[65536];
    std::size_t total = 0;
    ssize_t n;
    while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0) total += static_cast<std::size_t>(n);
    ::_exit(total == (1u << 20) ? 0 : 1);
  }
  ::close(fds[0]);
  EXPECT_TRUE(write_all(fds[1], text));
  ::close(fds[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(reader, &status, 0), reader);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(Io, WriteAllFailsOnAClosedPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous);
  EXPECT_FALSE(write_all(fds[1], "lost"));
  ::sigaction(SIGPIPE, &previous, nullptr);
  ::close(fds[1]);
}

}  // namespace
}  // namespace xeonplace
