// Runs tools/safetensors_roundtrip.py: a ResNet-20 moves PyTorch -> normgrad and normgrad -> PyTorch
// through safetensors files, with the same eval logits in both frameworks. The Python interpreter is
// $NORMGRAD_PYTHON (tools/setup.sh makes a venv with Debian's torch and PyPI's safetensors), else
// /usr/bin/python3; without torch and safetensors there the test is skipped, and says so.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <gtest/gtest.h>

namespace {

// Runs `command`, returning its exit status and appending its output to `output`.
int RunCommand(const std::string& command, std::string& output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SafetensorsInterchange, ResNet20BothWaysGivesTheSameLogits) {
  const char* env = std::getenv("NORMGRAD_PYTHON");
  const std::string python = env != nullptr && *env != '\0' ? env : "/usr/bin/python3";
  std::string probe;
  if (RunCommand(python + " -c 'import torch, safetensors.torch'", probe) != 0) {
    GTEST_SKIP() << "skipped: " << python << " cannot import torch and safetensors (run tools/setup.sh, or set "
                 << "NORMGRAD_PYTHON to a Python that can):\n" << probe;
  }
  std::string output;
  const int status = RunCommand(python + " tools/safetensors_roundtrip.py --binary tools/resnet_safetensors --workdir " +
                             testing::TempDir() + "/roundtrip",
                         output);
  std::cout << output;
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("PyTorch -> normgrad"), std::string::npos);
  EXPECT_NE(output.find("normgrad -> PyTorch"), std::string::npos);
}

}  // namespace
