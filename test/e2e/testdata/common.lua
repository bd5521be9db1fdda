-- Shared by the miltertest scripts: connect to the milter at the address
-- given with -D addr=inet:PORT@127.0.0.1 and send one message.
function open_session(client_ip)
	local conn = mt.connect(addr, 20, 0.25)
	if conn == nil then
		error("cannot connect to " .. addr)
	end
	if mt.conninfo(conn, "client.example", client_ip) ~= nil then
		error("mt.conninfo() failed")
	end
	if mt.getreply(conn) ~= SMFIR_CONTINUE then
		error("connect: unexpected reply")
	end
	return conn
end

-- send_body sends the header fields (a list of {name, value}) and the body,
-- ending with end of message.
function send_message(conn, headers, body)
	if mt.rcptto(conn, "<user@sluice-e2e.test>") ~= nil then
		error("mt.rcptto() failed")
	end
	if mt.getreply(conn) ~= SMFIR_CONTINUE then
		error("rcpt: unexpected reply")
	end
	for _, h in ipairs(headers) do
		if mt.header(conn, h[1], h[2]) ~= nil then
			error("mt.header() failed")
		end
	end
	if mt.eoh(conn) ~= nil then
		error("mt.eoh() failed")
	end
	if mt.bodystring(conn, body) ~= nil then
		error("mt.bodystring() failed")
	end
	if mt.eom(conn) ~= nil then
		error("mt.eom() failed")
	end
end

function words(pool, n)
	local out = {}
	for i = 1, n do
		out[#out + 1] = pool[(i * 3) % #pool + 1]
		if i % 12 == 0 then out[#out + 1] = "\r\n" end
	end
	return table.concat(out, " ") .. "\r\n"
end

spam_words = { "viagra", "casino", "winner", "prize", "claim", "cash", "offer", "free", "pills", "cheap", "loan", "bonus", "guaranteed", "click", "unsubscribe", "million" }
ham_words = { "meeting", "agenda", "kernel", "patch", "review", "thursday", "lunch", "project", "deadline", "minutes", "draft", "build", "release", "branch", "merge" }

function std_headers(subject)
	return {
		{ "From", "sender@example.org" },
		{ "To", "user@sluice-e2e.test" },
		{ "Subject", subject },
		{ "Message-ID", "<" .. subject:gsub(" ", "-") .. "@example.org>" },
	}
end
