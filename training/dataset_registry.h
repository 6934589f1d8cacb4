// The data-set registry: data sets by name, as the model registry has
// architectures. Each data set lives in its own file and declares its task
// (what its targets are and how it is evaluated, see task.h), its own spec
// fields with their defaults (its default path among them: the trainer
// knows none), and how it loads. To add one, write its file with a reader and
// a loader and add one line to the table in dataset_registry.cpp; the
// training loop does not change. Thread-safe (the table is immutable);
// loading blocks on I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "models/dataset.h"
#include "models/spec_reader.h"
#include "training/job_spec.h"

namespace ringmaster::training {

// The spec's data as the trainer uses it: loaded, split and limited.
struct TrainTestData {
  models::Dataset train, test;
};

// Loads a data set whose own fields were read already; `train_seed` is
// train.seed, for data sets that split one file by it. Throws ops::Error
// naming the file and the problem.
using DatasetLoader = std::function<TrainTestData(uint64_t train_seed)>;

// A data set: its task, and a reader of its own fields (problems recorded in
// r by JSON pointer; an unknown key is reported for you) that returns its
// loader. `path` is data.path, empty for the data set's default; `task`
// comes in as the entry's and may be changed by a field (a data set with
// several kinds of targets).
struct DatasetEntry {
  TaskKind task = TaskKind::kClassification;
  std::function<DatasetLoader(models::SpecReader& r, const std::string& path, TaskKind& task)> read;
};

// The registered names, sorted.
std::vector<std::string> dataset_names();

// The task of data set `name` after reading its own fields in r (`path`:
// data.path, empty for the default); nullopt (a problem at r's "/dataset")
// for an unknown name.
std::optional<TaskKind> read_dataset_options(const std::string& name, const std::string& path,
                                             models::SpecReader& r);

// What a reader of data set `dataset`'s fields says of a key it does not take.
std::string unknown_field_reason(const std::string& dataset);

// The spec's data: the data set's loader, then data.train_limit,
// data.test_limit and data.train_per_class. Throws ops::Error.
TrainTestData load_data(const DataSpec& d, uint64_t train_seed);

}  // namespace ringmaster::training
