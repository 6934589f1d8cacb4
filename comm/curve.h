// CURVE keys for ZeroMQ's authenticated, encrypted transport (RFC 26): Z85
// text of 40 characters, and the files they live in.
//   NAME.key   "public <z85>\nsecret <z85>\n", mode 0600 (a process's keypair)
//   NAME.pub   "<z85>\n" (what others are given)
//   allowlist  one public key per line, optionally followed by a space and
//              a '#' comment; other lines starting with '#' are comments,
//              blank lines are skipped (the worker keys a coordinator accepts)
// `ringmaster keygen` writes a pair. Errors name the file and line and never
// echo a secret.
#pragma once

#include <set>
#include <string>

namespace ringmaster::comm {

struct CurveKeypair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;
};

// A fresh keypair (libsodium through libzmq). Throws TransportError when
// libzmq was built without CURVE.
CurveKeypair make_curve_keypair();
// True for 40 characters of the Z85 alphabet.
bool is_z85_key(const std::string& s);
// The public key of a secret one (Z85 in, Z85 out). Throws TransportError.
std::string curve_public_of(const std::string& secret_key);

// Writes BASE.key (0600, created anew) and BASE.pub. Throws TransportError.
void write_curve_keypair(const std::string& base, const CurveKeypair& keys);
// Reads a .key file; the public key must match the secret one. Throws
// TransportError.
CurveKeypair read_curve_keypair(const std::string& path);
// A public key given as itself, as a .pub file, or as a .key file (its
// public line). Throws TransportError.
std::string read_curve_public_key(const std::string& key_or_path);
// Reads an allowlist. Throws TransportError naming the file and line.
std::set<std::string> read_curve_allowlist(const std::string& path);

}  // namespace ringmaster::comm
