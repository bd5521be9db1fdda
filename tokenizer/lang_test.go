package tokenizer

import "testing"

func TestLanguage(t *testing.T) {
	tests := []struct{ body, want string }{
		{"The meeting is at noon and the agenda will be sent to you with the minutes of the last one.", "en"},
		{"Wir sind nicht sicher, ob die Lieferung mit der Post auf den Weg gebracht wurde und ist.", "de"},
		{"Nous sommes dans le bureau et les documents sont sur la table pour vous avec une note.", "fr"},
		{"El informe de los resultados está listo para la reunión con una nota más, pero muy breve.", "es"},
		{"Мы получили ваше письмо и это очень хорошо, но что делать с ним для вас не ясно.", "ru"},
		{"会議は明日の午後三時に始まります。資料を準備してください。", "ja"},
		{"오늘 회의는 오후 세시에 시작합니다 자료를 준비해 주세요", "ko"},
		{"click here now", ""},                  // too few function words
		{"the der and und the der and und", ""}, // no clear winner
	}
	for _, tt := range tests {
		res := tokenize(t, Options{}, "Subject: x\n\n"+tt.body+"\n")
		if res.Language != tt.want {
			t.Errorf("Language(%q) = %q, want %q", tt.body, res.Language, tt.want)
		}
	}
}
