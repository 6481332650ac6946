package cli

import "fmt"

// count is n and the noun, plural unless n is 1: "1 difference", "2 differences".
func count(n int64, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %s", n, plural(noun))
}

func plural(noun string) string {
	switch noun {
	case "copy":
		return "copies"
	}
	return noun + "s"
}
