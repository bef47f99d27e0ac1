// Package device simulates a ZTE MF831 LTE USB stick in serial mode: the
// AT command interpreter behind /dev/ttyUSB2, independent of any I/O.
//
// A Device holds the persistent state of the stick and its SIM (message
// stores, service centre address, SIM lock, network, sent log, faults).
// Serve runs one power-on session on a port, in production the master side
// of a raw pty; a new Serve after an unplug is a reboot of the volatile
// settings only. Control methods (InjectSMS, SetNetwork, SetSIM, SetFaults,
// SendStatusReport, InjectURC, ...) are safe to call while a session runs;
// the URCs they cause are written between responses, never inside one
// (unless the InterleaveURC fault asks for it) and never while the "> "
// prompt is open.
//
// # Line discipline and framing
//
// A command line ends with CR; a lone LF also ends it, and an LF right
// after CR is part of the terminator. Backspace (0x08) deletes the previous
// character. Characters before "AT" (any letter case) are ignored, and a
// line without "AT", or an empty line, gets no answer at all. "A/" repeats
// the previous line at once. Echo (on at power-on, ATE0/ATE1) sends back
// every byte as it arrives, also after the "> " prompt. Results are framed
// as in V.250 verbose mode: information lines "\r\n<line>\r\n" (more lines
// of one command "<line>\r\n"), then "\r\nOK\r\n", "\r\nERROR\r\n",
// "\r\n+CME ERROR: <err>\r\n" or "\r\n+CMS ERROR: <err>\r\n". ATV0 gives
// numeric codes ("0\r", "4\r", info "<line>\r\n"), ATQ1 suppresses them.
//
// Several commands on a line ("AT+CMGF=0;+CSCS=\"GSM\"", "ATE0V1") run in
// order, each with its own information text and one final result; the
// first error ends the line. A command that opens the "> " prompt ends
// the line too.
//
// # Errors
//
// +CMEE=0 (power-on, as the ZTE answers unknown commands with ERROR) turns
// every error into ERROR; 1 gives numbers, 2 texts of 27.007 §9.2 and
// 27.005 §3.2.5. Unknown commands, unsupported forms and syntax errors are
// +CME ERROR: 100 (the MF710 answers so with CMEE=1); parameter values out
// of range +CME ERROR: 50. SIM state: +CME ERROR: 10 (not inserted), 11
// (PIN), 12 (PUK), 13 (blocked), 16 (wrong password); for SMS commands
// +CMS ERROR: 310, 311, 316 (27.005's code for SIM PUK; 312 is PH-SIM PIN),
// 313. SMS: 304 bad PDU (also a +CMGS length that is not the TPDU length,
// SMSC octets excluded), 305 bad text mode parameter, 321 empty or out of
// range index, 322 store full, 330 no SMSC, 331 not registered (also with
// +CFUN=0/4 or +COPS=2), 302/303 not allowed/supported.
//
// # Power-on settings
//
// E1 V1 Q0, +CMEE=0, +CMGF=0, +CSCS="GSM" (ZTE sticks report "GSM", not
// the 27.007 default "IRA"), +CSDH=0, +CSMP=17,167,0,0, +CNMI=0,0,0,0,0
// (incoming SMS are stored silently), +CPMS="SM","SM","SM", +CREG=0,
// +CGREG=0, +CEREG=0, +COPS=0 (format 0), +CFUN=1, +CUSD=0, +CSMS=0.
// ATZ and AT&F restore them (except +CFUN and the +COPS mode).
//
// # Commands
//
// Forms: exec (AT+X), set (AT+X=...), read (AT+X?), test (AT+X=?); a form
// not listed answers ERROR.
//
//	AT                 OK
//	ATE<n> ATV<n> ATQ<n>  echo, verbose, quiet (0/1)
//	ATI                Manufacturer: ZTE CORPORATION / Model: MF831 / Revision: ... / IMEI: ... / +GCAP: +CGSM
//	ATZ, AT&F          restore power-on settings
//	ATS<n>? ATS<n>=<v> S0,S3,S4,S5,S6,S7,S8,S10 ("013"); S3/S4/S5 cannot change
//	+CGMI +GMI         ZTE CORPORATION (exec, test)
//	+CGMM +GMM         MF831
//	+CGMR +GMR         BD_HOFATMF831V1.0.0B02
//	+CGSN +GSN         <IMEI>
//	+GCAP              +GCAP: +CGSM
//	+CIMI              <IMSI> (needs the SIM unlocked)
//	+ZGETICCID         +ZGETICCID: <ICCID> (also +CCID, +ICCID; readable with PIN lock)
//	+CNUM              +CNUM: "","<MSISDN>",145 (OK alone without MSISDN)
//	+CMEE              set 0-2, read +CMEE: <n>, test +CMEE: (0-2)
//	+CPIN              read +CPIN: READY|SIM PIN|SIM PUK; set "<pin>" or "<puk>","<newpin>"; test OK
//	+ZPINPUK           +ZPINPUK: <pin attempts>,<puk attempts> (exec, read, test)
//	+CFUN              set 0|1|4[,<rst>], read +CFUN: <fun>, test +CFUN: (0,1,4),(0-1)
//	+CSQ               +CSQ: <rssi>,<ber> (99,99 with the radio off); test +CSQ: (0-31,99),(0-7,99)
//	+CREG +CGREG +CEREG  set 0-2; read +CREG: <n>,<stat>[,"<lac>","<ci>",<AcT>]; test (0-2);
//	                   URCs +CREG: <stat>[,"<lac>","<ci>",<AcT>] (CEREG: stat 0 unless AcT 7)
//	+COPS              read +COPS: <mode>,<format>,"<oper>",<AcT> (+COPS: <mode> unregistered);
//	                   set 0 auto, 1 manual (other operators: +CME ERROR: 32), 2 deregister,
//	                   3 format only, 4 manual/auto; test lists the current and known operators
//	+ZPAS              +ZPAS: "LTE","PS_ONLY" | "UMTS","CS_PS" | ... | "No Service","CS_ONLY"
//	+CSCS              set "GSM"|"IRA"|"UCS2", read +CSCS: "GSM", test +CSCS: ("IRA","GSM","UCS2")
//	+ZCDRUN            =8 Close autorun state result(0:FAIL 1:SUCCESS):1, =9, =E, =F likewise; no mode switch
//	+CUSD              set <n>[,"<str>"[,<dcs>]]: OK, then URC +CUSD: <m>,"<text>",15
//	                   (UCS2Quirk: UCS-2 hex with <dcs> 7); unknown code +CUSD: 4; n=2 cancels
//	+CSMS              set 0|1 answers +CSMS: 1,1,1; read +CSMS: <n>,1,1,1; test +CSMS: (0,1)
//	+CMGF              set 0|1, read +CMGF: <n>, test +CMGF: (0,1)
//	+CSDH              set 0|1, read, test
//	+CSCA              read +CSCA: "<sca>",<tosca> (in the +CSCS set; "",129 if none); set; test OK
//	+CSMP              set <fo>[,<vp>[,<pid>[,<dcs>]]], read +CSMP: 17,167,0,0, test OK
//	+CPMS              set answers +CPMS: <used1>,<total1>,<used2>,<total2>,<used3>,<total3>;
//	                   read +CPMS: "SM",0,30,"SM",0,30,"SM",0,30 (no spaces; the MF710M puts
//	                   one after each comma); test +CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")
//	+CNMI              set <mode>,<mt>,<bm>,<ds>,<bfr>; read; test +CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)
//	+CNMA              OK with +CSMS=1, +CMS ERROR: 340 otherwise (acknowledgement is not awaited)
//	+CMGS              PDU: =<length>, text: ="<da>"[,<toda>]; prompt "\r\n> "; Ctrl-Z sends:
//	                   +CMGS: <mr>; ESC cancels: OK
//	+CMGW              PDU: =<length>[,<stat>], text: [="<da>"[,<toda>[,"<stat>"]]]; prompt; +CMGW: <index>
//	+CMSS              =<index>[,"<da>"[,<toda>]]: +CMSS: <mr>, marks STO SENT
//	+CMGR              =<index>: PDU +CMGR: <stat>,,<length> + PDU line; text per type and +CSDH
//	+CMGL              PDU [=<stat 0-4>] (default 0), text [="REC UNREAD"|...|"ALL"];
//	                   PDU +CMGL: <index>,<stat>,,<length> + PDU line per message
//	+CMGD              =<index>[,<delflag 0-4>]; test +CMGD: (<used indices>),(0-4)
//
// # Messages
//
// Stores have fixed capacities (SM 30, ME 100, SR 20) and 0-based indices,
// as Qualcomm-based sticks number them (the Huawei capture in docs/modem-facts.md
// lists index 0); the first free index is used. Unread messages become
// read when +CMGR or +CMGL shows them (the response shows the old status).
// Deleting an empty index is OK. Incoming messages are real TS 23.040
// SMS-DELIVER PDUs (package modem/pdu) with the SMSC address in front,
// routed per +CNMI: <mt>=0 stored silently, 1 stored with
// +CMTI: "<mem3>",<index>, 2 shown as +CMT (PDU "+CMT: ,<length>\r\n<pdu>",
// text "+CMT: "<oa>",,"<scts>"[,<tooa>,<fo>,<pid>,<dcs>,"<sca>",<tosca>,<length>]\r\n<data>"),
// except class 2, 3 like 2 for class 3 only. Class 0 (flash) messages
// follow the same rules (27.005 has no exception for them; with <mt>=1 they
// are stored and announced). While <mode> is 0 the SMS URCs are buffered
// and flushed when <mode> becomes 1 or 2 with <bfr>=0. When the receive
// store is full, or the modem is not registered, messages wait "in the
// network" and arrive in order once possible (after +CMGD, +CPMS, PIN
// entry...).
//
// Text mode renders the same stored PDUs per +CSCS and +CSDH: GSM 7-bit
// text without a header in the TE character set (GSM bytes, IRA, or UCS-2
// hex), 8-bit, UCS-2 and any message with a user data header as hex of the
// TP-UD octets (27.005 §3.1); <length> is TP-UDL. Text typed after the
// prompt is in the TE character set (hex octets if +CSMP <dcs> is 8-bit or
// UCS-2); a CR in it is a line break. With +CSCS="GSM" the extension
// characters cannot be typed, since their escape 0x1B is ESC.
//
// Submitted messages get a message reference from a counter (seeded start,
// mod 256) and go to the sent log, grouped per recipient and concatenation
// reference. If a submission asked for a status report, the report mode
// decides what follows: "deliver" (TP-ST 0), "fail" (0x41) or "manual"
// (SendStatusReport). Reports are routed per +CNMI <ds>: 1 as
// "+CDS: <length>\r\n<pdu>" (text "+CDS: <fo>,<mr>,"<ra>",<tora>,"<scts>","<dt>",<st>"),
// 2 stored in SR with +CDSI: "SR",<index>, 0 not routed. Like an SMS, a
// report the modem cannot take (not registered, or SR full under <ds> 2)
// is held in the network and arrives, in order, once it can
// (HeldReports counts them).
//
// # Timing
//
// ProfileInstant never sleeps. ProfileRealistic adds delays drawn from the
// seeded source: 10–60 ms per command line, +CMGS/+CMSS 2–5 s, +COPS=? 8–15 s,
// +COPS set 0.5–2 s, +CPIN set 0.3–1 s, USSD answers 1–3 s after OK,
// status reports 1–4 s after the submission.
package device
