package device

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Device is a simulated ZTE MF831 in serial mode. It keeps the persistent
// state of the stick and its SIM (message stores, sent log, network, SIM
// lock, faults); Serve runs one power-on session on a port. All methods are
// safe for concurrent use.
type Device struct {
	cfg   Config
	log   *slog.Logger
	clock func() time.Time

	mu         sync.Mutex
	rng        *rand.Rand
	sess       *session // the running session, nil if none
	sim        simCard
	smsc       string // service centre address stored on the SIM, "" if none
	net        Network
	faults     Faults
	stores     map[string]*store
	waiting    []incomingPart // mobile-terminated parts held "in the network"
	nextMR     int
	sent       []SentSMS
	nextSentID int
	reportMode ReportMode
	reports    []pendingReport // status reports due, submitted parts that asked for one
	netReports []heldReport    // status reports held "in the network"
	transcript []Exchange
	ussd       USSDService
	parked     []timedEvent // events of an ended session, run at the next
}

// New creates a Device from cfg; zero fields take the documented defaults.
func New(cfg Config) (*Device, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &Device{
		cfg:        cfg,
		log:        cfg.Logger,
		clock:      cfg.Clock,
		rng:        rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.Seed)^0x5A5A5A5A)),
		smsc:       cfg.SMSC,
		net:        DefaultNetwork,
		reportMode: ReportDeliver,
		nextSentID: 1,
	}
	if cfg.Network != nil {
		d.net = *cfg.Network
	}
	d.sim = newSIMCard(cfg.SIM, cfg.PIN, cfg.PUK)
	d.stores = map[string]*store{
		"SM": newStore("SM", cfg.SMCapacity),
		"ME": newStore("ME", cfg.MECapacity),
		"SR": newStore("SR", cfg.SRCapacity),
	}
	d.nextMR = d.rng.IntN(256)
	if cfg.USSD != nil {
		if err := cfg.USSD.validate(); err != nil {
			return nil, err
		}
		d.ussd = *cfg.USSD
	} else {
		d.ussd = DefaultUSSD()
	}
	return d, nil
}

// Config returns the configuration in effect, defaults filled in.
func (d *Device) Config() Config { return d.cfg }

// delay draws a duration in [lo, hi) from the seeded source in the
// realistic profile, and is 0 in the instant profile. d.mu must be held.
func (d *Device) delay(lo, hi time.Duration) time.Duration {
	if d.cfg.Profile != ProfileRealistic {
		return 0
	}
	return lo + time.Duration(d.rng.Int64N(int64(hi-lo)))
}

// takeMR returns the next TP message reference (0–255, wrapping). d.mu must
// be held.
func (d *Device) takeMR() int {
	mr := d.nextMR
	d.nextMR = (d.nextMR + 1) % 256
	return mr
}

func (d *Device) String() string {
	return fmt.Sprintf("%s %s IMEI %s", d.cfg.Manufacturer, d.cfg.Model, d.cfg.IMEI)
}
