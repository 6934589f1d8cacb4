// Fuzz target: a REST body as the coordinator reads it. Bounded JSON
// (ops/bounded_json.h), then the job-spec parser and the path check, as
// validate_submission runs them. Expected failures are SpecError / a parse
// error; anything else (a crash, a sanitizer report, another exception) is
// a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "models/spec_reader.h"
#include "ops/bounded_json.h"
#include "ops/check.h"
#include "training/job_spec.h"
#include "training/path_roots.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  ringmaster::ops::JsonParse parsed = ringmaster::ops::parse_bounded_json(body);
  if (!parsed.error.empty()) return 0;
  try {
    const ringmaster::training::JobSpec spec = ringmaster::training::parse_job_spec(parsed.value);
    static const ringmaster::training::PathRoots roots =
        ringmaster::training::resolve_roots(ringmaster::training::default_path_roots());
    ringmaster::training::path_problems(spec, roots);
  } catch (const ringmaster::models::SpecError&) {
  } catch (const ringmaster::ops::Error&) {
  }
  return 0;
}
