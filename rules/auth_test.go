package rules

import (
	"slices"
	"testing"

	"github.com/sluicemail/sluice/tokenizer"
)

// TestTrustedAuthResults: the results of the topmost trusted field with
// the domains they were about; untrusted and lower fields are not read.
func TestTrustedAuthResults(t *testing.T) {
	h := tokenizer.ParseHeader([]byte("Authentication-Results: forged.example; dkim=pass header.d=bank.example\r\n" +
		"Authentication-Results: MX.example.net; spf=pass smtp.mailfrom=Bounce@ESP.example;\r\n" +
		" dkim=fail header.d=x.example; dkim=pass (2048-bit key) header.d=Mail.Bank.Example. header.s=s1;\r\n" +
		" dmarc=pass (p=reject) header.from=bank.example\r\n" +
		"Authentication-Results: mx.example.net; dkim=pass header.d=other.example\r\n\r\n"))
	a := TrustedAuthResults(&h, []string{" mx.example.net "})
	if a.SPF != "pass" || a.SPFDomain != "esp.example" || a.DKIM != "pass" || !slices.Equal(a.DKIMPass, []string{"mail.bank.example"}) ||
		a.DMARC != "pass" || a.DMARCFrom != "bank.example" {
		t.Fatalf("%+v", a)
	}
	if a := TrustedAuthResults(&h, nil); a.DKIM != "" || a.DKIMPass != nil {
		t.Fatalf("no trusted id: %+v", a)
	}
	if got := FromAddress(`"Bank" <Clerk@Bank.example>`); got != "clerk@bank.example" {
		t.Fatalf("FromAddress: %q", got)
	}
}
