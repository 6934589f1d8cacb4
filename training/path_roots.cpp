// Spec paths confined to the worker's roots (see path_roots.h).
#include "training/path_roots.h"

#include <iterator>
#include <system_error>
#include <vector>

#include "models/model_spec.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;

// What the kernel would open: absolute, every symlink followed (dangling
// ones too: a write through one would land at its target), `..` taken after
// the links before it, the parts that do not exist kept as written. Empty
// after more than 40 links (a loop), which no root holds.
fs::path resolve(const fs::path& p) {
  std::error_code ec;
  fs::path absolute = fs::absolute(p, ec);
  if (ec) return {};
  std::vector<fs::path> todo(absolute.begin(), absolute.end());  // [0] is "/"
  fs::path done = "/";
  int links = 0;
  for (size_t i = 1; i < todo.size(); ++i) {
    const fs::path& part = todo[i];
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      done = done.parent_path();
      continue;
    }
    const fs::path next = done / part;
    if (!fs::is_symlink(fs::symlink_status(next, ec))) {
      done = next;
      continue;
    }
    if (++links > 40) return {};
    const fs::path target = fs::read_symlink(next, ec);
    if (ec) return {};
    // Go on from the link's target, then what followed the link.
    std::vector<fs::path> rest;
    if (target.is_absolute()) {
      done = "/";
      rest.assign(std::next(target.begin()), target.end());
    } else {
      rest.assign(target.begin(), target.end());
    }
    rest.insert(rest.end(), todo.begin() + static_cast<std::ptrdiff_t>(i) + 1, todo.end());
    todo = {fs::path("/")};
    todo.insert(todo.end(), rest.begin(), rest.end());
    i = 0;
  }
  return done;
}

std::string list(const std::vector<fs::path>& roots) {
  if (roots.empty()) return "none";
  std::string out;
  for (size_t i = 0; i < roots.size(); ++i) {
    if (i) out += ", ";
    out += roots[i].string();
  }
  return out;
}

// Checks one path against `allowed`; `kind` names the roots in the reason.
void check(const std::string& given, const std::string& pointer,
           const std::vector<fs::path>& allowed, const std::string& kind,
           std::vector<models::SpecProblem>& problems) {
  if (given.empty()) return;
  const std::string roots = kind + " (" + list(allowed) +
                            "); jobs read and write only there (--data-root, --checkpoint-root)";
  // The kernel stops at a NUL, so what is checked would not be what is opened.
  if (given.find('\0') != std::string::npos) {
    problems.push_back({pointer, "contains a NUL byte; it must name a file under the " + roots});
    return;
  }
  const fs::path resolved = resolve(given);
  for (const fs::path& root : allowed)
    if (is_under(resolved, root)) return;
  if (resolved.empty()) {
    problems.push_back({pointer, "\"" + given +
                                     "\" cannot be resolved (more than 40 symlinks); it must "
                                     "lie under the " +
                                     roots});
    return;
  }
  std::error_code ec;
  const fs::path plain = fs::absolute(fs::path(given), ec).lexically_normal();
  problems.push_back(
      {pointer, "\"" + given + "\"" +
                    (plain != resolved ? " resolves (through a symlink) to a place" : " is") +
                    " outside the " + roots});
}

void check_model(const models::ModelSpec& m, const std::string& pointer,
                 const std::vector<fs::path>& weight_roots,
                 std::vector<models::SpecProblem>& problems) {
  const std::string kind = "checkpoint and data roots";
  check(m.init.checkpoint, pointer + "/init/checkpoint", weight_roots, kind, problems);
  check(m.checkpoint, pointer + "/checkpoint", weight_roots, kind, problems);
  for (size_t i = 0; i < m.ensemble.size(); ++i)
    check_model(m.ensemble[i], pointer + "/ensemble/" + std::to_string(i), weight_roots, problems);
  // A model object inside the architecture's fields (nic's encoder) loads its own init.
  if (const auto it = m.options.find("encoder"); it != m.options.end() && it->is_object()) {
    models::ModelSpec inner;
    std::vector<models::SpecProblem> ignored;  // the spec parser reports them
    models::parse_model_spec(*it, pointer + "/encoder", false, inner, ignored);
    check_model(inner, pointer + "/encoder", weight_roots, problems);
  }
}

}  // namespace

bool is_under(const fs::path& p, const fs::path& dir) {
  if (p == dir) return true;
  const fs::path rel = p.lexically_relative(dir);
  return !rel.empty() && rel.is_relative() && *rel.begin() != ".." && *rel.begin() != ".";
}

PathRoots default_path_roots() { return {{"/usr/share/datasets", "data"}, {"runs"}}; }

PathRoots resolve_roots(const PathRoots& roots) {
  PathRoots out;
  for (const fs::path& r : roots.data) out.data.push_back(resolve(r));
  for (const fs::path& r : roots.checkpoints) out.checkpoints.push_back(resolve(r));
  return out;
}

std::vector<models::SpecProblem> read_path_problems(const JobSpec& spec, const PathRoots& roots) {
  std::vector<models::SpecProblem> problems;
  check(spec.data.path, "/data/path", roots.data, "data roots", problems);
  std::vector<fs::path> weight_roots = roots.checkpoints;
  weight_roots.insert(weight_roots.end(), roots.data.begin(), roots.data.end());
  check_model(spec.model, "/model", weight_roots, problems);
  return problems;
}

std::vector<models::SpecProblem> path_problems(const JobSpec& spec, const PathRoots& roots) {
  std::vector<models::SpecProblem> problems = read_path_problems(spec, roots);
  check(spec.checkpoint.path, "/checkpoint/path", roots.checkpoints, "checkpoint roots", problems);
  return problems;
}

void confine_paths(const JobSpec& spec, const PathRoots& roots) {
  std::vector<models::SpecProblem> problems = path_problems(spec, roots);
  if (!problems.empty()) throw models::SpecError(std::move(problems));
}

}  // namespace ringmaster::training
