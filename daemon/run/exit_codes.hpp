#pragma once

namespace govjobd::run {

// The process's exit codes, for `govjobd run` and every other command: sysexits.h values, so that systemd and
// scripts can tell failures apart. The only place they are written (the unit's RestartPreventExitStatus=78 and
// the tests, which check the documented numbers, aside).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;        // a command's negative answer (e.g. verify found problems)
inline constexpr int kExitUsage = 2;          // bad command line
inline constexpr int kExitDataError = 65;     // bad input: steps, ids, a refused request
inline constexpr int kExitUnavailable = 69;   // database unreachable
inline constexpr int kExitSoftware = 70;      // an unexpected internal error
inline constexpr int kExitConfig = 78;        // bad config or incompatible schema; systemd does not restart
// `govjobd health`, as monitoring plugins (Nagios, Icinga) exit: 0 HEALTHY, 1 DEGRADED, 2 BLOCKED.
inline constexpr int kExitHealthDegraded = 1;
inline constexpr int kExitHealthBlocked = 2;

}  // namespace govjobd::run
