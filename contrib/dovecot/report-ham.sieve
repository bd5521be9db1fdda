# Moved out of Junk: learn as ham for this user, unless it went to Trash
# (deleting spam is not saying it is ham).
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];

if environment :matches "imap.mailbox" "*" {
  set "mailbox" "${1}";
}
if string "${mailbox}" "Trash" {
  stop;
}
if environment :matches "imap.user" "*" {
  set "username" "${1}";
}

pipe :copy "sluice-learn-ham.sh" [ "${username}" ];
