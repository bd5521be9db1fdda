package tokenizer

import "testing"

func TestRuleFacts(t *testing.T) {
	msg := "From: a@example.com\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nsee http://192.0.2.7/x and https://bit.ly/abc and http://example.org/\r\n" +
		"--b\r\nContent-Type: application/octet-stream; name=\"invoice.pdf.exe\"\r\n\r\nMZ\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=run.js\r\n\r\nx\r\n" +
		"--b\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\r\n%PDF\r\n--b--\r\n"
	f := tokenize(t, Options{}, msg).Features
	if f.IPURLs != 1 || f.ShortURLs != 1 || f.ExecFiles != 2 || f.DoubleExts != 1 {
		t.Fatalf("IPURLs %d ShortURLs %d ExecFiles %d DoubleExts %d, want 1 1 2 1", f.IPURLs, f.ShortURLs, f.ExecFiles, f.DoubleExts)
	}
}
