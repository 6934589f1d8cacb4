// `ringmaster keygen` (see keygen_command.h). Exit codes: 0 written, 1 the
// files could not be written or there is no CURVE in libzmq.
#include "cli/keygen_command.h"

#include <cstdio>
#include <memory>
#include <string>

#include "cli/exit_codes.h"
#include "comm/curve.h"
#include "comm/transport.h"

namespace ringmaster::cli {

void add_keygen_command(CLI::App& app, int& exit_code) {
  auto base = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "keygen", "Make a CURVE keypair: NAME.key (keep it secret) and NAME.pub (hand it out)");
  cmd->add_option("name", *base, "Path and name of the pair, without extension")->required();
  cmd->callback([base, &exit_code] {
    try {
      const comm::CurveKeypair keys = comm::make_curve_keypair();
      comm::write_curve_keypair(*base, keys);
      std::printf("%s\n", keys.public_key.c_str());
      std::fprintf(stderr, "wrote %s.key (secret, mode 0600) and %s.pub\n", base->c_str(),
                   base->c_str());
      exit_code = kExitOk;
    } catch (const comm::TransportError& e) {
      std::fprintf(stderr, "ringmaster keygen: %s\n", e.what());
      exit_code = kExitFailed;
    }
  });
}

}  // namespace ringmaster::cli
