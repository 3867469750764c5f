// dtlspp/dtlspp.hpp: the umbrella header; everything public, no OpenSSL.
#pragma once

#include "dtlspp/certificate.hpp"
#include "dtlspp/context.hpp"
#include "dtlspp/demux.hpp"
#include "dtlspp/error.hpp"
#include "dtlspp/fingerprint.hpp"
#include "dtlspp/identity.hpp"
#include "dtlspp/listener.hpp"
#include "dtlspp/session.hpp"
#include "dtlspp/srtp.hpp"
#include "dtlspp/verifier.hpp"
