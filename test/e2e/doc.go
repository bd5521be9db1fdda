// Package e2e runs Sluice against real mail software: miltertest scripts
// against `sluice milter`, a private Postfix instance on loopback whose
// smtpd_milters points at Sluice, driven with swaks (also with `sluice
// serve` and autolearn), a private Dovecot whose imapsieve scripts pipe
// moved messages to `sluice learn`, rspamc against the learner's HTTP
// endpoint, and a SIGKILL of the learner during a bulk learn.
//
// The Debian-layout tests (debian_*_test.go, sendmail_test.go) run the
// files of contrib/ as shipped, below a temporary root: Sluice as its
// units run it (user sluice, the units' groups), Postfix chrooted with
// the milter socket inside the chroot, Exim as Debian-exim over a unix
// socket, Debian's Sendmail (unpacked, like Exim, by .ci/e2e-tools.sh),
// Dovecot with system users learning through the sluice-learn group and
// the spool. install_test.go runs make install and systemd-analyze.
//
// The tests need root, postfix, swaks, miltertest, dovecot-imapd and
// dovecot-sieve (Debian packages of those names). Without them they skip,
// saying what is missing, unless SLUICE_E2E=1 is set (as .ci/run does):
// then a missing piece is a failure, so CI cannot pass by skipping.
// Everything listens on 127.0.0.1 only, on free ports (never 25), keeps its files in a temporary directory, and is
// stopped when the test ends.
package e2e
