// Submitted-spec validation and normalisation (see submission.h).
#include "coordinator/submission.h"

#include "ops/bounded_json.h"

namespace ringmaster::coordinator {
namespace {

namespace fs = std::filesystem;

bool is_within(const fs::path& p, const fs::path& dir) {
  const fs::path rel = p.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != ".." && rel.is_relative();
}

// Empty when the path is acceptable; else the reason. `resolved` gets the
// absolute, normalised path.
std::string check_checkpoint(const std::string& path, const SubmissionPolicy& policy,
                             fs::path& resolved) {
  if (path.empty()) return "must not be empty";
  // The kernel would stop at a NUL: the file written would not be the one checked.
  if (path.find('\0') != std::string::npos) return "must not contain a NUL byte";
  fs::path p(path);
  if (p.is_relative()) p = policy.checkpoint_root / p;
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(p, ec);  // resolves symlinks of the parts that exist
  if (ec) canon = p.lexically_normal();
  resolved = canon;
  if (!is_within(canon, policy.checkpoint_root))
    return "must be under the checkpoint root " + policy.checkpoint_root.string() + " (got " +
           canon.string() + ")";
  if (canon == policy.state_dir || is_within(canon, policy.state_dir))
    return "must not be inside the coordinator's state folder " + policy.state_dir.string();
  if (!canon.has_filename() || canon.filename() == "." || canon.filename() == "..")
    return "must name a file";
  return {};
}

}  // namespace

uint64_t fingerprint(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

Submission validate_submission(const std::string& body, const SubmissionPolicy& policy) {
  // Bounded: depth, duplicate keys, nothing after the value.
  ops::JsonParse parsed_body = ops::parse_bounded_json(body);
  if (!parsed_body.error.empty())
    throw models::SpecError(std::vector<models::SpecProblem>{
        {parsed_body.pointer,
         parsed_body.pointer.empty() ? "the body: " + parsed_body.error : parsed_body.error}});
  const nlohmann::json j = std::move(parsed_body.value);
  std::vector<models::SpecProblem> problems;
  Submission s;
  bool parsed = false;
  try {
    s.spec = policy.parse(j);
    parsed = true;
    if (policy.check_read_paths)
      for (models::SpecProblem& p : policy.check_read_paths(s.spec))
        problems.push_back(std::move(p));
  } catch (const models::SpecError& e) {
    problems = e.problems();
  }
  // The checkpoint rule applies even when other fields are wrong, so a user
  // sees every problem at once. No path: <root>/<name>/final.safetensors.
  const nlohmann::json* given = nullptr;
  if (j.is_object() && j.contains("checkpoint") && j["checkpoint"].is_object() &&
      j["checkpoint"].contains("path") && j["checkpoint"]["path"].is_string())
    given = &j["checkpoint"]["path"];
  std::string checkpoint;
  if (given)
    checkpoint = given->get<std::string>();
  else if (parsed)
    checkpoint = s.spec.name + "/final.safetensors";
  fs::path resolved;
  if (given || parsed) {
    if (std::string why = check_checkpoint(checkpoint, policy, resolved); !why.empty()) {
      if (given)
        problems.push_back({"/checkpoint/path", why});
      else
        problems.push_back({"/name",
                            "names the default checkpoint <root>/<name>/final.safetensors, "
                            "which " +
                                why + "; use a plain name or set /checkpoint/path"});
    }
  }
  if (!problems.empty()) throw models::SpecError(std::move(problems));
  s.spec.checkpoint.path = resolved.string();
  s.normalised = j;
  s.normalised["checkpoint"]["path"] = resolved.string();
  s.spec.source = s.normalised;
  return s;
}

}  // namespace ringmaster::coordinator
