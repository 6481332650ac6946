package testenv

import "testing"

// Ports handed out are held until the test ends (none is handed out twice, even to
// another file description of the same lock) and lie outside the ephemeral range, where
// an outgoing connection could take one while its server restarts.
func TestFreePortsAreHeldAndOutsideTheEphemeralRange(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice in one test", p)
		}
		seen[p] = true
		if p < portsFrom || p >= ephemeralFrom() {
			t.Fatalf("port %d outside %d-%d", p, portsFrom, ephemeralFrom()-1)
		}
	}
	var inner int
	t.Run("after", func(t *testing.T) { inner = FreePort(t) })
	if seen[inner] {
		t.Fatalf("a subtest got port %d, which this test still holds", inner)
	}
}
