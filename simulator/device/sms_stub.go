package device

import "github.com/sim-modem-api/sim-modem-api/simulator/atcmd"

type incomingPart struct{}
type pendingReport struct{}
type SentSMS struct{}
type ReportMode string

const ReportDeliver ReportMode = "deliver"

type USSDService struct{}

func (USSDService) validate() error { return nil }
func DefaultUSSD() USSDService      { return USSDService{} }

type ussdSession struct{}

func cmdCUSD(s *session, c atcmd.Command) ([]string, error) { return nil, errUnknown }
func registerSMSCommands()                                  {}
