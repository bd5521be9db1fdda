package tokenizer_test

import (
	"fmt"
	"strings"

	"github.com/sluicemail/sluice/tokenizer"
)

func ExampleTokenizer_Tokenize() {
	msg := "From: Ann <ann@example.com>\n" +
		"Subject: Cheap meds\n" +
		"Content-Type: text/html; charset=iso-8859-1\n" +
		"\n" +
		"<p>Buy <b>CHEAP</b> m&eacute;ds at <a href=\"http://shop.example.co.uk/x\">our shop</a></p>\n"
	tk := tokenizer.New(tokenizer.Options{Window: 2, Explain: true})
	res, err := tk.Tokenize(strings.NewReader(msg))
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, tok := range res.Tokens {
		if tok.Kind != tokenizer.Meta {
			fmt.Println(tok.Kind, tok.Dist, res.Text[i])
		}
	}
	fmt.Println(res.MetaTokens, "metatokens, e.g.", res.Text[len(res.Text)-1])
	// Output:
	// header 0 subject:cheap
	// header 0 subject:meds
	// header 1 subject:cheap meds
	// header 0 from:ann
	// header 0 H*from:ann
	// header 0 H*from:ann@example.com
	// header 0 H*from@:ann@example.com
	// header 0 H*from@dom:example.com
	// header 0 H*content-type:text
	// header 0 H*content-type:html
	// header 0 H*content-type:charset
	// header 0 H*content-type:iso-8859-1
	// url 0 url:shop.example.co.uk
	// url 0 url:example.co.uk
	// body 0 buy
	// body 0 cheap
	// body 1 buy cheap
	// body 0 méds
	// body 1 cheap méds
	// body 0 at
	// body 1 méds at
	// body 0 our
	// body 1 at our
	// body 0 shop
	// body 1 our shop
	// 24 metatokens, e.g. #tree:html
}
