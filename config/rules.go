package config

// Rules weighs the built-in rules (package rules). Every weight is a
// symbol's score when its rule fires fully; 0 turns the rule off. The
// defaults are modest: a confident Bayes verdict alone marks a message, and
// rules add to it (reject needs more than one kind of evidence).
type Rules struct {
	Enabled              bool    `toml:"enabled" comment:"Run the built-in rules and add their scores. Off by default: on the public corpus, Bayes plus these\nhand-set weights ranked mail worse than Bayes alone ((1-AUC)% 0.0717 against 0.0206, FN at FP <= 0.1%\n12.5% against 4.2%); as inputs of the neural network alone (scores not added) they lost too: 4-fold cross-validated\n(1-AUC)% / FN at FP <= 0.1% with the network 0.0404 / 4.39% against 0.0375 / 4.00% without them (relay headers\nstripped: 0.0492 / 4.86% against 0.0410 / 6.13%)."`
	TrustedAuthservIDs   string  `toml:"trusted_authserv_ids" comment:"authserv-ids (space or comma separated) whose Authentication-Results fields are believed, e.g. your MX's host name;\nonly the topmost such field is read. Empty: the AUTH_* rules never fire."`
	MissingMid           float64 `toml:"missing_mid" comment:"MISSING_MID: no Message-ID header field."`
	InvalidMid           float64 `toml:"invalid_mid" comment:"INVALID_MID: Message-ID is not <left@right>."`
	MissingDate          float64 `toml:"missing_date" comment:"MISSING_DATE: no Date header field."`
	InvalidDate          float64 `toml:"invalid_date" comment:"INVALID_DATE: Date is not an RFC 5322 date."`
	DateInFuture         float64 `toml:"date_in_future" comment:"DATE_IN_FUTURE: Date more than 6 hours after the message was received."`
	DateInPast           float64 `toml:"date_in_past" comment:"DATE_IN_PAST: Date more than 4 days before the message was received."`
	FromNameHasAddr      float64 `toml:"from_name_has_addr" comment:"FROM_NAME_HAS_ADDR: the From display name carries an address of another domain than the From address."`
	ReplytoDomNeqFromDom float64 `toml:"replyto_dom_neq_from_dom" comment:"REPLYTO_DOM_NEQ_FROM_DOM: Reply-To's registered domain differs from From's, outside mailing lists."`
	SubjAllCaps          float64 `toml:"subj_all_caps" comment:"SUBJ_ALL_CAPS: the Subject shouts: 10 or more letters, 90% or more upper case."`
	SubjExcessPunct      float64 `toml:"subj_excess_punct" comment:"SUBJ_EXCESS_PUNCT: the Subject has repeated ! or ? or three or more !, ? or $."`
	MimeHtmlOnly         float64 `toml:"mime_html_only" comment:"MIME_HTML_ONLY: HTML text but no plain text part."`
	HtmlShortManyLinks   float64 `toml:"html_short_many_links" comment:"HTML_SHORT_MANY_LINKS: HTML with fewer than 100 words and 5 or more links."`
	UrlIp                float64 `toml:"url_ip" comment:"URL_IP: a link whose host is an IP address."`
	UrlShortener         float64 `toml:"url_shortener" comment:"URL_SHORTENER: a link to a known URL shortener."`
	ManyUrls             float64 `toml:"many_urls" comment:"MANY_URLS: 50 or more links."`
	AttachExec           float64 `toml:"attach_exec" comment:"ATTACH_EXEC: an attachment with an executable or script extension."`
	AttachDoubleExt      float64 `toml:"attach_double_ext" comment:"ATTACH_DOUBLE_EXT: an executable attachment posing as a document (x.pdf.exe)."`
	CharsetOddity        float64 `toml:"charset_oddity" comment:"CHARSET_ODDITY: unknown or lying charsets, 8-bit text without charset, invalid UTF-8."`
	EncodingOddity       float64 `toml:"encoding_oddity" comment:"ENCODING_ODDITY: bad base64, unknown transfer encodings, broken multiparts."`
	AuthSpfFail          float64 `toml:"auth_spf_fail" comment:"AUTH_SPF_FAIL: trusted Authentication-Results: spf=fail."`
	AuthSpfSoftfail      float64 `toml:"auth_spf_softfail" comment:"AUTH_SPF_SOFTFAIL: trusted Authentication-Results: spf=softfail."`
	AuthSpfPass          float64 `toml:"auth_spf_pass" comment:"AUTH_SPF_PASS: trusted Authentication-Results: spf=pass."`
	AuthDkimFail         float64 `toml:"auth_dkim_fail" comment:"AUTH_DKIM_FAIL: trusted Authentication-Results: dkim=fail and no dkim=pass."`
	AuthDkimPass         float64 `toml:"auth_dkim_pass" comment:"AUTH_DKIM_PASS: trusted Authentication-Results: dkim=pass."`
	AuthDmarcFail        float64 `toml:"auth_dmarc_fail" comment:"AUTH_DMARC_FAIL: trusted Authentication-Results: dmarc=fail."`
	AuthDmarcPass        float64 `toml:"auth_dmarc_pass" comment:"AUTH_DMARC_PASS: trusted Authentication-Results: dmarc=pass."`
}

func defaultRules() Rules {
	return Rules{
		MissingMid:           1,
		InvalidMid:           1,
		MissingDate:          1,
		InvalidDate:          0.5,
		DateInFuture:         2,
		DateInPast:           0.25,
		FromNameHasAddr:      2,
		ReplytoDomNeqFromDom: 1,
		SubjAllCaps:          1,
		SubjExcessPunct:      0.5,
		MimeHtmlOnly:         0.5,
		HtmlShortManyLinks:   1,
		UrlIp:                1.5,
		UrlShortener:         0.5,
		ManyUrls:             0.1,
		AttachExec:           3,
		AttachDoubleExt:      4,
		CharsetOddity:        0.5,
		EncodingOddity:       0.5,
		AuthSpfFail:          2,
		AuthSpfSoftfail:      0.5,
		AuthSpfPass:          -0.5,
		AuthDkimFail:         1,
		AuthDkimPass:         -0.5,
		AuthDmarcFail:        2.5,
		AuthDmarcPass:        -1,
	}
}

// Weights returns the rule weights by symbol name.
func (r Rules) Weights() map[string]float64 {
	return map[string]float64{
		"MISSING_MID":              r.MissingMid,
		"INVALID_MID":              r.InvalidMid,
		"MISSING_DATE":             r.MissingDate,
		"INVALID_DATE":             r.InvalidDate,
		"DATE_IN_FUTURE":           r.DateInFuture,
		"DATE_IN_PAST":             r.DateInPast,
		"FROM_NAME_HAS_ADDR":       r.FromNameHasAddr,
		"REPLYTO_DOM_NEQ_FROM_DOM": r.ReplytoDomNeqFromDom,
		"SUBJ_ALL_CAPS":            r.SubjAllCaps,
		"SUBJ_EXCESS_PUNCT":        r.SubjExcessPunct,
		"MIME_HTML_ONLY":           r.MimeHtmlOnly,
		"HTML_SHORT_MANY_LINKS":    r.HtmlShortManyLinks,
		"URL_IP":                   r.UrlIp,
		"URL_SHORTENER":            r.UrlShortener,
		"MANY_URLS":                r.ManyUrls,
		"ATTACH_EXEC":              r.AttachExec,
		"ATTACH_DOUBLE_EXT":        r.AttachDoubleExt,
		"CHARSET_ODDITY":           r.CharsetOddity,
		"ENCODING_ODDITY":          r.EncodingOddity,
		"AUTH_SPF_FAIL":            r.AuthSpfFail,
		"AUTH_SPF_SOFTFAIL":        r.AuthSpfSoftfail,
		"AUTH_SPF_PASS":            r.AuthSpfPass,
		"AUTH_DKIM_FAIL":           r.AuthDkimFail,
		"AUTH_DKIM_PASS":           r.AuthDkimPass,
		"AUTH_DMARC_FAIL":          r.AuthDmarcFail,
		"AUTH_DMARC_PASS":          r.AuthDmarcPass,
	}
}
