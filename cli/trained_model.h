// What the commands that run a trained model on images share (caption,
// detect, classify): the spec loaded and checked to be of their task, the
// model rebuilt for the data's images with every weight from a checkpoint,
// and the data's class names.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "models/dataset.h"
#include "models/module.h"
#include "training/job_spec.h"

namespace ringmaster::cli {

// The spec at `path`, or nullopt after printing why ("ringmaster
// <command>: ...") when it is invalid or its data set is not of `task`
// (`what`: what that task's data is, for the message).
std::optional<training::JobSpec> load_spec_of_task(const char* command, const std::string& path,
                                                   training::TaskKind task, const char* what);

// The name of class k of `data` ("class K" where the data names none).
std::string class_name(const models::Dataset& data, int64_t k);

// The spec's model for `data`'s images (channels, size, classes), its
// weights all from `checkpoint` (the spec's init, and that of the model
// object nested at model.<nested> if any, left out), in eval mode. Throws
// ops::Error.
std::shared_ptr<models::Module> load_trained_model(const training::JobSpec& spec,
                                                   const models::Dataset& data,
                                                   const std::string& checkpoint,
                                                   const char* nested);

}  // namespace ringmaster::cli
