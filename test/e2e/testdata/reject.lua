-- A spam the statfile knows is rejected with the configured reply.
dofile(dir .. "/common.lua")
local conn = open_session("192.0.2.11")
if mt.mailfrom(conn, "<sender@example.org>") ~= nil then error("mt.mailfrom() failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("mail: unexpected reply") end
send_message(conn, std_headers("cheap offer"), words(spam_words, 48))
if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("eom: no custom reply") end
if not mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", reject_text) then error("wrong reply text") end
mt.disconnect(conn)
mt.echo("reject: ok")
