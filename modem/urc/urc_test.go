package urc

import (
	"io"
	"log/slog"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
)

func TestDispatch(t *testing.T) {
	var names []string
	d := New(slog.New(slog.NewTextHandler(io.Discard, nil)), func(n string) { names = append(names, n) })
	var got []string
	cancel := d.Subscribe("+CUSD", func(u at.URC) bool { got = append(got, u.Line); return true })
	d.Subscribe("+CUSD", func(u at.URC) bool { t.Error("second handler called although the first consumed"); return true })
	d.Dispatch(at.URC{Name: "+CUSD", Line: "+CUSD: 0"})
	d.Dispatch(at.URC{Name: "+CMTI", Line: `+CMTI: "SM",1`})
	cancel()
	if len(got) != 1 || len(names) != 2 {
		t.Fatalf("got %v names %v", got, names)
	}
}
