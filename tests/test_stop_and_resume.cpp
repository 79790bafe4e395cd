// Long runs that are stopped or crash lose nothing: a stop request (SIGINT, SIGTERM) saves a resume
// point in the middle of the epoch and the resumed run ends bit-identical to an uninterrupted one;
// --save-minutes saves without changing the run; a process killed (SIGKILL) at any I/O step of a
// checkpoint save, or whose disk fills up there, leaves a checkpoint that resumes; one process at a
// time writes a run directory. The command line's side (status 130/143, the resume line, a second
// signal) runs the binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/files.h"
#include "engine/interrupt.h"
#include "engine/optim.h"
#include "models/models.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "train/config.h"
#include "train/trainer.h"

using namespace mx;
namespace fs = std::filesystem;

namespace {

class StopAndResume : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(tmp_ / "data");
    test::write_tiny_fashion_mnist(tmp_ / "data", 70, 30);
    interrupt::clear();
  }
  void TearDown() override {
    interrupt::clear();
    files::set_fault_plan({});
  }
  // quicknet with mixing, flips and translations: every source of randomness of a step.
  train::TrainConfig config(const std::string& out) const {
    train::TrainConfig c = test::tiny_run(tmp_ / "data", tmp_ / out, 8);
    c.seed = 5;
    c.mixing.mix = "c";
    c.translate = 2;
    return c;
  }
  std::string file(const std::string& run, const std::string& name) const {
    return test::read_file(tmp_ / (run + "/" + name));
  }
  test::TempDir tmp_;
};

std::vector<float> weights(const train::Trainer& t) {
  return const_cast<ParameterStore&>(t.parameters()).params().to_vector<float>();
}

}  // namespace

TEST_F(StopAndResume, StopRequestSavesMidEpochAndTheResumedRunEndsBitIdentical) {
  train::Trainer(config("full"), {}).run();
  interrupt::request(SIGINT);  // as if Ctrl-C came during the first step
  ASSERT_NO_FATAL_FAILURE(
      test::expect_stopped([&] { train::Trainer(config("stopped"), {}).run(); }, 130, "stopped at epoch 1 step 1"));
  interrupt::clear();
  const checkpoint::File state = checkpoint::load(tmp_ / "stopped/checkpoint.state.safetensors");
  EXPECT_EQ(state.meta.at("step"), "1");
  EXPECT_EQ(state.meta.at("epoch"), "0");

  train::TrainConfig c = config("stopped");
  c.resume = tmp_ / "stopped/checkpoint.safetensors";
  train::Trainer(c, {}).run();
  EXPECT_TRUE(file("full", "checkpoint.safetensors") == file("stopped", "checkpoint.safetensors"));
  EXPECT_TRUE(file("full", "checkpoint.state.safetensors") == file("stopped", "checkpoint.state.safetensors"));
  EXPECT_EQ(test::without_last_fields(file("stopped", "metrics.csv"), 2), test::without_last_fields(file("full", "metrics.csv"), 2));
}

TEST_F(StopAndResume, AStopAfterTheLastStepOfAnEpochEndsWithTheEpochCheckpoint) {
  train::TrainConfig c = config("stopped");
  train::TrainCallbacks cb;
  cb.epoch = [](const train::EpochInfo&) { interrupt::request(SIGTERM); };  // during the epoch's end
  ASSERT_NO_FATAL_FAILURE(
      test::expect_stopped([&] { train::Trainer(c, cb).run(); }, 143, "stopped at the end of epoch 1"));
  interrupt::clear();
  const checkpoint::File state = checkpoint::load(tmp_ / "stopped/checkpoint.state.safetensors");
  EXPECT_EQ(state.meta.count("step"), 0u) << "an epoch checkpoint";
  c.resume = tmp_ / "stopped/checkpoint.safetensors";
  train::Trainer resumed(c, {});
  resumed.run();
  train::Trainer full(config("full"), {});
  full.run();
  EXPECT_EQ(weights(resumed), weights(full));
}

TEST_F(StopAndResume, SaveMinutesSavesInTheMiddleOfEpochsWithoutChangingTheRun) {
  train::TrainConfig c = config("often");
  c.save_minutes = 1e-9;  // after every step
  int saves = 0;
  train::TrainCallbacks cb;
  cb.notice = [&saves](const std::string& line) { saves += line.rfind("saved ", 0) == 0; };
  train::Trainer often(c, cb);
  often.run();
  train::Trainer plain(config("plain"), {});
  plain.run();
  const int64_t steps = 70 / 8;  // a step of 6 images ends each epoch
  EXPECT_EQ(saves, 2 * steps) << "one save after every step but the last of each epoch";
  EXPECT_EQ(weights(often), weights(plain));
}

namespace {

// A quicknet with its optimizer, initialised from `seed`, as one training state to save.
struct Replica {
  explicit Replica(uint64_t seed)
      : model(models::make_model("quicknet", {1, 28, 10, seed})), store(*model), opt(store, {0.9f, 1e-4f, true}) {}
  std::vector<float> weights() { return store.params().to_vector<float>(); }
  std::shared_ptr<nn::Module> model;
  ParameterStore store;
  optim::Sgd opt;
};

void save(train::RunDir& dir, Replica& r, int epoch) {
  const checkpoint::Metadata meta{{"epoch", std::to_string(epoch)}};
  dir.save_checkpoint("checkpoint", *r.model, r.opt, meta, meta);
}

// The epoch of the checkpoint in `dir` after it is loaded into a fresh replica, whose weights must
// then be those of `epochs[epoch]` exactly: a state file is never a mixture of two saves.
int load_whole(const std::string& dir, std::map<int, std::vector<float>>& epochs) {
  Replica fresh(99);
  const int epoch = std::stoi(train::load_checkpoint(dir + "/checkpoint.safetensors", *fresh.model, fresh.opt).at("epoch"));
  EXPECT_TRUE(epochs.count(epoch) && fresh.weights() == epochs[epoch]) << "epoch " << epoch;
  checkpoint::load(dir + "/checkpoint.safetensors");  // the weights file is whole too
  return epoch;
}

}  // namespace

TEST_F(StopAndResume, KilledAtEveryIoStepOfASaveLeavesACheckpointThatResumes) {
  const std::string dir = tmp_ / "run";
  Replica one(1), two(2);
  std::map<int, std::vector<float>> epochs{{1, one.weights()}, {2, two.weights()}};
  int killed = 0, new_after_kill = 0;
  for (int64_t at = 1;; ++at) {
    {
      train::RunDir run(dir, true);  // also removes the temporaries of the last killed save
      EXPECT_FALSE(test::has_temporary_files(dir)) << at;
      save(run, one, 1);
    }
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // the save of epoch 2, killed at its I/O step `at`
      files::set_fault_plan({files::FaultPlan::Kind::Kill, at});
      train::RunDir run(dir, true);
      save(run, two, 2);
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    if (WIFEXITED(status)) {
      EXPECT_EQ(load_whole(dir, epochs), 2) << "the save without a kill";
      break;
    }
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ++killed;
    new_after_kill += load_whole(dir, epochs) == 2;
  }
  EXPECT_GE(killed, 12) << "create, writes, flush, close, rename and directory sync of both files";
  EXPECT_GE(new_after_kill, 1) << "a kill after the state file's rename resumes from the new state";
}

TEST_F(StopAndResume, AFullDiskAtAnyIoStepOfASaveIsAnErrorNamingTheFileAndKeepsAWholeCheckpoint) {
  const std::string dir = tmp_ / "run";
  Replica one(1), two(2);
  std::map<int, std::vector<float>> epochs{{1, one.weights()}, {2, two.weights()}};
  train::RunDir run(dir, true);
  for (int64_t at = 1;; ++at) {
    save(run, one, 1);
    files::set_fault_plan({files::FaultPlan::Kind::NoSpace, at});
    try {
      save(run, two, 2);
    } catch (const Error& e) {
      files::set_fault_plan({});
      const std::string what = e.what();
      EXPECT_NE(what.find("No space left on device"), std::string::npos) << what;
      EXPECT_EQ(what.rfind(dir + "/checkpoint.", 0), 0u) << "names the file: " << what;
      EXPECT_FALSE(test::has_temporary_files(dir)) << at;
      load_whole(dir, epochs);
      continue;
    }
    files::set_fault_plan({});
    EXPECT_GE(at, 12) << "every I/O step of both files was made to fail";
    EXPECT_EQ(load_whole(dir, epochs), 2);
    break;
  }
}

TEST_F(StopAndResume, OneProcessAtATimeWritesARunDirectoryAndAnEarlierRunNeedsResume) {
  const std::string dir = tmp_ / "run";
  {
    train::RunDir first(dir, false);
    try {
      train::RunDir second(dir, true);
      FAIL() << "a second writer must be refused";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("another mixup train is writing there (pid " + std::to_string(getpid())),
                std::string::npos)
          << e.what();
    }
  }
  train::Trainer(config("run"), {}).run();
  try {
    train::Trainer(config("run"), {});
    FAIL() << "a fresh run must not overwrite an earlier one";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("continue it with --resume"), std::string::npos) << e.what();
  }
}

// ---- the command line ----

namespace {

// Starts `mixup <args>` in the background, waits until its run directory holds config.json (training
// has begun), sends `signals` (e.g. "INT" or "INT INT") and returns its status and output.
test::RunResult signalled_run(const test::TempDir& tmp, const std::string& args, const std::string& out,
                              const std::string& signals) {
  const std::string script = tmp / "signal.sh";
  std::ofstream(script) << std::string(MIXUP_BINARY) << " " << args << " &\npid=$!\n"
                        << "while [ ! -f " << out << "/config.json ]; do sleep 0.02; done\nsleep 0.3\n"
                        << "for s in " << signals << "; do kill -$s $pid; sleep 0.01; done\nwait $pid\n";
  return test::run_command("sh " + script, tmp);
}

std::string train_args(const test::TempDir& tmp, const std::string& out) {
  return "train --data-dir " + tmp.path() + "/big --out " + out +
         " --epochs 2 --batch-size 8 --threads 1 --seed 2 --device cpu --mix c";
}

}  // namespace

TEST_F(StopAndResume, SigintOnTheCommandLineSavesPrintsTheResumeLineAndExits130) {
  fs::create_directories(tmp_ / "big");
  test::write_tiny_fashion_mnist(tmp_ / "big", 2000, 30);  // long enough to be stopped mid-run
  const std::string out = tmp_ / "stopped";
  const test::RunResult r = signalled_run(tmp_, train_args(tmp_, out), out, "INT");
  ASSERT_EQ(r.status, 130) << r.err;
  const std::string marker = "mixup: resume with: ";
  const size_t at = r.err.find(marker);
  ASSERT_NE(at, std::string::npos) << r.err;
  const std::string resume = r.err.substr(at + marker.size(), r.err.find('\n', at) - at - marker.size());
  EXPECT_NE(resume.find("--resume " + out + "/checkpoint.safetensors"), std::string::npos) << resume;
  const test::RunResult resumed = test::run_command(resume, tmp_);
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  ASSERT_EQ(test::run_mixup(train_args(tmp_, tmp_ / "full"), tmp_).status, 0);
  EXPECT_TRUE(file("stopped", "checkpoint.safetensors") == file("full", "checkpoint.safetensors"));
}

TEST_F(StopAndResume, ASecondSignalEndsTheProcessAtOnce) {
  fs::create_directories(tmp_ / "big");
  test::write_tiny_fashion_mnist(tmp_ / "big", 2000, 30);
  const std::string out = tmp_ / "twice";
  const test::RunResult r = signalled_run(tmp_, train_args(tmp_, out), out, "TERM TERM");
  EXPECT_EQ(r.status, 143) << r.err;
  EXPECT_NE(r.err.find("second signal"), std::string::npos) << r.err;
}

TEST_F(StopAndResume, AFullDiskOnTheCommandLineIsAOneLineError) {
  const std::string out = tmp_ / "full-disk";
  const std::string args = "train --data-dir " + tmp_.path() + "/data --out " + out +
                           " --epochs 1 --batch-size 8 --threads 1 --device cpu";
  const test::RunResult r = test::run_command("MIXUP_IO_FAULT=enospc:3 " + std::string(MIXUP_BINARY) + " " + args, tmp_);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("mixup: error: " + out + "/", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(test::has_temporary_files(out));
}
