package mmapstore

// The names of the namespaces a message's statistics live in, besides
// Shared: what the learner writes and the scanner reads, so both spell
// them alike (NamespaceOf turns a name into the key mixed into hashes).

// UserNamespace names a user's statistics ("" for no user).
func UserNamespace(user string) string {
	if user == "" {
		return ""
	}
	return "user:" + user
}

// LanguageNamespace names a language's statistics ("" for no language).
func LanguageNamespace(lang string) string {
	if lang == "" {
		return ""
	}
	return "lang:" + lang
}
