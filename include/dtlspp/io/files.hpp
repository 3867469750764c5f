// dtlspp/io/files.hpp: identities in PEM files, with the system's reasons for failures.
//
// The core loads and saves identities as PEM text (identity::from_pem, certificate_pem,
// private_key_pem); these functions add the files, as dtlscat and the examples use them. File
// errors throw std::system_error naming the path and carrying errno ("cannot read k.pem:
// Permission denied", "cannot read certs/: Is a directory").
#pragma once

#include <string>

#include "dtlspp/certificate.hpp"
#include "dtlspp/identity.hpp"

namespace dtlspp::io {

// read_file returns a regular file's contents. Throws std::system_error("cannot read PATH") with
// the system's reason; a directory is EISDIR.
std::string read_file(const std::string& path);

// load_identity reads a certificate and its private key from PEM files. Throws std::system_error
// for the files, dtlspp::error for their contents (malformed PEM, a key that does not belong to
// the certificate).
dtlspp::identity load_identity(const std::string& certificate_path, const std::string& key_path);

// load_certificate reads a PEM certificate file (the first certificate in it).
dtlspp::certificate load_certificate(const std::string& path);

// overwrite says whether save_identity may replace existing files.
enum class overwrite { no, yes };

// save_identity writes the certificate (mode 0644) and the private key (mode 0600,
// whatever the umask or an earlier file's mode: the key is the identity). Without
// overwrite::yes an existing file is an error (EEXIST) and neither file is written. Throws
// std::system_error("cannot write PATH").
void save_identity(const dtlspp::identity& id, const std::string& certificate_path,
                   const std::string& key_path, overwrite mode = overwrite::no);

}  // namespace dtlspp::io
