// custodian keygen --out FILE
#include <iostream>

#include "cli/command.h"
#include "core/key_file.h"

namespace custodian::cli {

void AddKeyCommands(CLI::App& app) {
  auto* keygen = app.add_subcommand(
      "keygen", "Create a new Ed25519 key file (mode 0600) and print its public key (base64)");
  auto out = std::make_shared<std::string>();
  keygen->add_option("--out", *out, "Where to write the private key (must not exist yet)")
      ->required();
  OnRun(keygen, [out] {
    auto key = GenerateKeyFile(*out);
    if (!key.ok()) return Fail(key.status());
    std::cout << Base64Encode(key->public_key()) << "\n";
    return 0;
  });
}

}  // namespace custodian::cli
