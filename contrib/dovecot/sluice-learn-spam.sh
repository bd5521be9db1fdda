#!/bin/sh
# Dovecot's sieve pipe runs this as the mail user with the message on
# stdin and the IMAP user as $1, with no PATH: paths are absolute.
# sluice learn reads stdin to its end and exits 0 once the message is
# learned, already learned, or queued in the learner's spool; 65 for input
# that is not a message; 75 only when it could be neither learned nor
# queued. Its stderr goes to Dovecot's log.
SLUICE=/usr/local/bin/sluice
CONFIG=/etc/sluice/sluice.toml
exec "$SLUICE" learn --config "$CONFIG" --source dovecot --user "$1" spam
