// The ImapFlow side of imap4-bench, run by it as
// `node client.mjs MODE HOST PORT` from the directory where `npm ci`
// installed this folder's package.json (target/imapflow-peer).
//
// MODE is `envelope` (UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE
// ENVELOPE), every FETCH parsed into ImapFlow's message object) or `bodies`
// (every message's BODY.PEEK[] in UID chunks of 100, as `source` Buffers).
// ImapFlow is configured to do what the other clients do and nothing more:
// no STARTTLS, no COMPRESS, no ENABLE, no automatic IDLE, no logging.
// Prints one line: RESULT key=value ... (see imap4-bench's main.rs).
import { readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';

const CHUNK = 100;

function vmHwmKb() {
    const m = /^VmHWM:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : 0;
}

async function main() {
    const [mode, host, portArg] = process.argv.slice(2);
    const port = Number(portArg);
    const cpu0 = process.cpuUsage();
    const faults0 = process.resourceUsage();
    const t0 = process.hrtime.bigint();
    const client = new ImapFlow({
        host,
        port,
        secure: false,
        doSTARTTLS: false,
        disableCompression: true,
        disableAutoEnable: true,
        disableAutoIdle: true,
        logger: false,
        auth: { user: 'bench', pass: 'secret' },
    });
    await client.connect();
    const mailbox = await client.mailboxOpen('INBOX', { readOnly: true });
    const n = mailbox.exists;
    let items = 0;
    let bytes = 0;
    if (mode === 'envelope') {
        const query = { flags: true, internalDate: true, size: true, envelope: true };
        for await (const msg of client.fetch('1:*', query, { uid: true })) {
            if (msg.size === undefined || !msg.envelope || !msg.flags) {
                throw new Error('ImapFlow: an incomplete FETCH: ' + JSON.stringify(msg));
            }
            items += 1;
            bytes += msg.size;
        }
    } else if (mode === 'bodies') {
        for (let a = 1; a <= n; a += CHUNK) {
            const b = Math.min(a + CHUNK - 1, n);
            for await (const msg of client.fetch(`${a}:${b}`, { source: true }, { uid: true })) {
                if (!msg.source) {
                    throw new Error('ImapFlow: a FETCH without BODY[]');
                }
                items += 1;
                bytes += msg.source.length;
            }
        }
    } else {
        throw new Error(`unknown mode ${mode}`);
    }
    await client.logout();
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const faults1 = process.resourceUsage();
    const faults =
        faults1.minorPageFault - faults0.minorPageFault +
        (faults1.majorPageFault - faults0.majorPageFault);
    const total = process.cpuUsage();
    console.log(
        `RESULT wall=${wall.toFixed(6)} user=${(cpu.user / 1e6).toFixed(6)} ` +
        `sys=${(cpu.system / 1e6).toFixed(6)} ` +
        `proc_cpu=${((total.user + total.system) / 1e6).toFixed(6)} rss_kb=${vmHwmKb()} ` +
        `items=${items} bytes=${bytes} faults=${faults}`
    );
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
