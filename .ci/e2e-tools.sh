# Sourced by .ci/run: installs the clients that test/e2e's Exim, spamc and
# rspamc tests use (test/e2e/spamd_test.go, exim_test.go) and exports where
# the unpacked ones are.
#
# spamc and swaks are ordinary packages. exim4-daemon-heavy conflicts with
# Postfix (which the milter tests install), and rspamd's package would start
# a service, so both are unpacked from their .debs into /opt/sluice-e2e after
# their shared libraries are installed; nothing is started. Exim looks up its
# compiled-in user, Debian-exim, at start: it is created if missing.
# Sendmail (sendmail-bin, sendmail-cf; they conflict with Postfix too) is
# unpacked the same way for test/e2e/sendmail_test.go; m4 builds its
# sendmail.cf from the test's .mc.
e2e_dir=/opt/sluice-e2e
if [ ! -x "$e2e_dir/usr/sbin/exim4" ] || [ ! -x "$e2e_dir/usr/bin/rspamc" ] ||
  [ ! -x "$e2e_dir/usr/libexec/sendmail/sendmail" ] || ! command -v m4 >/dev/null ||
  ! command -v spamc >/dev/null || ! command -v swaks >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  e2e_libs=$(apt-cache depends exim4-daemon-heavy rspamd sendmail-bin | awk '$1 == "Depends:" && $2 ~ /^lib/ {print $2}' | sort -u)
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends spamc swaks m4 $e2e_libs
  e2e_tmp=$(mktemp -d)
  chmod 755 "$e2e_tmp"
  (cd "$e2e_tmp" && apt-get download -qq exim4-daemon-heavy rspamd sendmail-bin sendmail-cf)
  mkdir -p "$e2e_dir"
  for deb in "$e2e_tmp"/*.deb; do dpkg-deb -x "$deb" "$e2e_dir"; done
  rm -rf "$e2e_tmp"
fi
id Debian-exim >/dev/null 2>&1 ||
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin Debian-exim
# rspamc finds its private libraries through RUNPATH /usr/lib/rspamd.
printf '#!/bin/sh\nLD_LIBRARY_PATH=%s/usr/lib/rspamd exec %s/usr/bin/rspamc "$@"\n' "$e2e_dir" "$e2e_dir" >"$e2e_dir/rspamc"
chmod 755 "$e2e_dir/rspamc"
export SLUICE_EXIM="$e2e_dir/usr/sbin/exim4" SLUICE_RSPAMC="$e2e_dir/rspamc"
export SLUICE_SENDMAIL="$e2e_dir/usr/libexec/sendmail/sendmail" SLUICE_SENDMAIL_CF="$e2e_dir/usr/share/sendmail/cf"
# The Debian-layout tests (test/e2e/debian_test.go) run Sluice as the units
# do, as user sluice (groups from the units' SupplementaryGroups), and
# Dovecot's mail as an ordinary system user outside those groups.
id sluice >/dev/null 2>&1 ||
  useradd --system --no-create-home --home-dir /var/lib/sluice --shell /usr/sbin/nologin sluice
getent group sluice-learn >/dev/null || groupadd --system sluice-learn
id sluice-e2e-mail >/dev/null 2>&1 ||
  useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sluice-e2e-mail
