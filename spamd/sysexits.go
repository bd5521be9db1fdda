package spamd

// Reply codes of the spamd protocol: sysexits.h values, which spamc also
// uses as its own exit status.
const (
	exOK          = 0
	exUsage       = 64 // EX_USAGE: a verb this server does not know
	exDataErr     = 65 // EX_DATAERR: the input is not a message
	exNoInput     = 66 // EX_NOINPUT
	exNoUser      = 67 // EX_NOUSER
	exUnavailable = 69 // EX_UNAVAILABLE: the feature is off (TELL without a learner)
	exSoftware    = 70 // EX_SOFTWARE: an internal error (a recovered panic)
	exIOErr       = 74 // EX_IOERR
	exTempFail    = 75 // EX_TEMPFAIL: statistics busy or unreadable; try again later
	exProtocol    = 76 // EX_PROTOCOL: a malformed request
	exNoPerm      = 77 // EX_NOPERM
	exConfig      = 78 // EX_CONFIG
	exTimeout     = 79 // EX_TIMEOUT: spamd's own addition: the request took too long
)

var exitNames = map[int]string{
	exOK: "EX_OK", exUsage: "EX_USAGE", exDataErr: "EX_DATAERR", exNoInput: "EX_NOINPUT",
	exNoUser: "EX_NOUSER", exUnavailable: "EX_UNAVAILABLE", exSoftware: "EX_SOFTWARE",
	exIOErr: "EX_IOERR", exTempFail: "EX_TEMPFAIL", exProtocol: "EX_PROTOCOL",
	exNoPerm: "EX_NOPERM", exConfig: "EX_CONFIG", exTimeout: "EX_TIMEOUT",
}

func exitName(code int) string {
	if n, ok := exitNames[code]; ok {
		return n
	}
	return "EX_UNKNOWN"
}
