// Human-readable views of the REST API's job and worker JSON: the tables of
// `ringmaster jobs` / `workers` and the detail of `ringmaster status`.
// Pure functions of the JSON; tolerant of missing fields.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ringmaster::cli {

std::string jobs_table(const nlohmann::json& jobs);
std::string job_details(const nlohmann::json& job);
std::string workers_table(const nlohmann::json& workers);
std::string progress_text(const nlohmann::json& progress);  // "epoch 1/2 step 40/120 loss ..."

}  // namespace ringmaster::cli
