-- Mail from an authenticated sender is accepted at MAIL FROM, unscanned.
dofile(dir .. "/common.lua")
local conn = open_session("192.0.2.12")
if mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "alice", "{auth_type}", "PLAIN") ~= nil then error("mt.macro() failed") end
if mt.mailfrom(conn, "<alice@sluice-e2e.test>") ~= nil then error("mt.mailfrom() failed") end
if mt.getreply(conn) ~= SMFIR_ACCEPT then error("authenticated sender not accepted at MAIL") end
mt.disconnect(conn)
mt.echo("auth: ok")
