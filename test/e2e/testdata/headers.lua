-- A ham message gets our headers; a spoofed X-Spam-Flag is deleted.
dofile(dir .. "/common.lua")
local conn = open_session("192.0.2.10")
if mt.mailfrom(conn, "<sender@example.org>") ~= nil then error("mt.mailfrom() failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("mail: unexpected reply") end
local h = std_headers("minutes of the meeting")
h[#h + 1] = { "X-Spam-Flag", "YES" }
send_message(conn, h, words(ham_words, 48))
if mt.getreply(conn) ~= SMFIR_ACCEPT then error("eom: not accepted") end
if not mt.eom_check(conn, MT_HDRADD, "X-Spam-Score") then error("no X-Spam-Score added") end
if not mt.eom_check(conn, MT_HDRADD, "X-Spam-Bar") then error("no X-Spam-Bar added") end
local status = mt.getheader(conn, "X-Spam-Status", 0)
if status == nil or not string.find(status, "^No, score=%-") then error("X-Spam-Status: " .. tostring(status)) end
if mt.eom_check(conn, MT_HDRADD, "X-Spam-Flag") then error("ham flagged as spam") end
if not mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag") and not mt.eom_check(conn, MT_HDRCHANGE, "X-Spam-Flag", "") then
	error("spoofed X-Spam-Flag not removed")
end
mt.disconnect(conn)
mt.echo("headers: ok")
