package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Language guessing for per-language statistics (languages_enabled): body
// words are counted against short lists of each language's most common
// function words, and letters by script. It costs one map lookup per body
// word and changes no token.
//
// The guess is an ISO 639-1 code, or "" when the text gives too little
// evidence (fewer than minLangHits function words, or no clear winner):
// a message without a language is learned and classified with the shared
// statistics only, which is the safe side.

const minLangHits = 4

// maxLangWords: the guess is made from the first body words; past these
// the evidence is settled and counting would only cost time.
const maxLangWords = 400

var langCodes = [...]string{"en", "de", "fr", "es", "it", "pt", "nl", "sv", "pl", "ru", "uk"}

// stopWords maps a function word to the set (bit i = langCodes[i]) of
// languages it is common in. Words shared by languages count for each.
var stopWords = func() map[string]uint16 {
	lists := [...]string{
		"the and of to in is that it for you with on this are be was have not your will from they we",
		"der die und das ist nicht ich sie mit den von zu auf für ein eine dem des auch wir sind",
		"le la les et est des une que pour dans pas vous sur avec nous qui ce sont du au",
		"el los las que del por para con una está pero más como sus este esta son muy",
		"il che di della non per una sono con gli le del questo anche come alla essere",
		"não que uma com para por mais como dos das você são está muito também ao isso",
		"het een en van dat niet is op te zijn voor met die ook maar wij",
		"och att det som en är på för med har inte jag till av den du vi",
		"nie się jest to że na do jak ale za tak już dla czy",
		"и в не на что с по это как но из у за от то же вы мы для",
		"і в не на що з по це як але із у за від та ви ми для є",
	}
	m := make(map[string]uint16)
	for i, l := range lists {
		for _, w := range strings.Fields(l) {
			m[w] |= 1 << i
		}
	}
	return m
}()

// script classes counted for non-Latin text.
const (
	scriptHan = iota
	scriptKana
	scriptHangul
	scriptArabic
	scriptHebrew
	scriptGreek
	scriptThai
	scriptCyrillic
	scriptLatin
	numScripts
)

var scriptCodes = [numScripts]string{"zh", "ja", "ko", "ar", "he", "el", "th", "", ""}

type langCounter struct {
	hits   [len(langCodes)]int
	script [numScripts]int
	words  int
}

func (c *langCounter) reset() { *c = langCounter{} }

// count notes one normalised body word.
func (c *langCounter) count(w []byte) {
	if len(w) == 0 || c.words >= maxLangWords {
		return
	}
	c.words++
	if w[0] < utf8.RuneSelf {
		c.script[scriptLatin]++
	} else {
		r, _ := utf8.DecodeRune(w)
		switch {
		case unicode.Is(unicode.Han, r):
			c.script[scriptHan]++
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			c.script[scriptKana]++
		case unicode.Is(unicode.Hangul, r):
			c.script[scriptHangul]++
		case unicode.Is(unicode.Arabic, r):
			c.script[scriptArabic]++
		case unicode.Is(unicode.Hebrew, r):
			c.script[scriptHebrew]++
		case unicode.Is(unicode.Greek, r):
			c.script[scriptGreek]++
		case unicode.Is(unicode.Thai, r):
			c.script[scriptThai]++
		case unicode.Is(unicode.Cyrillic, r):
			c.script[scriptCyrillic]++
		default:
			c.script[scriptLatin]++
		}
	}
	if len(w) > 12 {
		return
	}
	if set := stopWords[string(w)]; set != 0 {
		for i := range langCodes {
			if set&(1<<i) != 0 {
				c.hits[i]++
			}
		}
	}
}

// guess returns the language code, or "".
func (c *langCounter) guess() string {
	total, best := 0, scriptLatin
	for s, n := range c.script {
		total += n
		if n > c.script[best] {
			best = s
		}
	}
	if total == 0 {
		return ""
	}
	// A non-Latin script that makes up most words names the language
	// (Japanese: any kana among Han).
	if best != scriptLatin && 2*c.script[best] > total {
		if best == scriptHan && c.script[scriptKana] > 0 {
			return "ja"
		}
		if best != scriptCyrillic {
			return scriptCodes[best]
		}
	}
	first, second := -1, -1
	for i, n := range c.hits {
		if first < 0 || n > c.hits[first] {
			first, second = i, first
		} else if second < 0 || n > c.hits[second] {
			second = i
		}
	}
	if c.hits[first] < minLangHits || 2*c.hits[second] > c.hits[first] {
		return ""
	}
	return langCodes[first]
}
