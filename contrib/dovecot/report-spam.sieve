# Moved into Junk: learn as spam for this user.
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];

if environment :matches "imap.user" "*" {
  set "username" "${1}";
}

# :copy is required: without it Dovecot marks the moved message \Deleted.
pipe :copy "sluice-learn-spam.sh" [ "${username}" ];
