// Exit codes shared by every cluster subcommand (README: "Exit codes").
// Constants only.
#pragma once

namespace ringmaster::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;         // the followed job failed or was cancelled; a refusal
inline constexpr int kExitUsage = 2;          // bad arguments or a rejected spec
inline constexpr int kExitConnection = 3;     // cannot reach the coordinator, or auth refused
inline constexpr int kExitInterrupted = 130;  // Ctrl-C while following

}  // namespace ringmaster::cli
