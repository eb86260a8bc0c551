import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSyslog } from '../../agent/buffer/syslog/parse.ts';
import { draftFromSyslog, type SyslogMessage } from '../../agent/buffer/syslog/message.ts';
import { SyslogFramer } from '../../agent/buffer/syslog/framing.ts';

function ok(text: string, now?: Date): SyslogMessage {
  const r = parseSyslog(text, now);
  assert.ok(r.ok, `expected ${JSON.stringify(text)} to parse: ${r.ok ? '' : r.error}`);
  return r.message;
}

const BOM = '\ufeff';

// RFC 5424 §6.5, examples 1 to 4.
test('RFC 5424 example 1: no structured data, BOM before MSG, NIL PROCID', () => {
  const m = ok(`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed for lonvick on /dev/pts/8`);
  assert.equal(m.version, 1);
  assert.equal(m.facility, 4); // auth
  assert.equal(m.severity, 2); // crit
  assert.equal(m.timestamp!.toISOString(), '2003-10-11T22:14:15.003Z');
  assert.equal(m.hostname, 'mymachine.example.com');
  assert.equal(m.appName, 'su');
  assert.equal(m.procId, undefined);
  assert.equal(m.msgId, 'ID47');
  assert.equal(m.message, "'su root' failed for lonvick on /dev/pts/8");
  const d = draftFromSyslog(m, 'syslog:udp:127.0.0.1', 0);
  assert.equal(d.level, 'ERROR');
  assert.equal(d.module, 'su');
  assert.deepEqual(d.fields, { facility: 'auth', severity: 'crit', hostname: 'mymachine.example.com', app_name: 'su', msgid: 'ID47' });
});

test('RFC 5424 example 2: microseconds and a zone offset, PROCID kept', () => {
  const m = ok("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.");
  assert.equal(m.facility, 20); // local4
  assert.equal(m.severity, 5); // notice
  assert.equal(m.timestamp!.toISOString(), '2003-08-24T12:14:15.000Z');
  assert.equal(m.hostname, '192.0.2.1');
  assert.equal(m.procId, '8710');
  assert.equal(m.msgId, undefined);
  assert.equal(m.message, "%% It's time to make the do-nuts.");
  assert.equal(draftFromSyslog(m, 's', 0).level, 'INFO');
});

test('RFC 5424 example 3: structured data kept in fields', () => {
  const m = ok(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ${BOM}An application event log entry...`);
  assert.deepEqual(m.structuredData, [{ id: 'exampleSDID@32473', params: [['iut', '3'], ['eventSource', 'Application'], ['eventID', '1011']] }]);
  assert.equal(m.message, 'An application event log entry...');
  const d = draftFromSyslog(m, 's', 0);
  assert.equal((d.fields as Record<string, string>)['sd.exampleSDID@32473.eventSource'], 'Application');
  assert.equal(d.module, 'evntslog');
});

test('RFC 5424 example 4: two SD elements and no MSG; escapes in param values', () => {
  const m = ok('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]');
  assert.deepEqual(m.structuredData![1], { id: 'examplePriority@32473', params: [['class', 'high']] });
  assert.equal(m.message, '');
  const e = ok('<14>1 - - - - - [x@1 q="a \\"b\\" \\] c\\\\"] body');
  assert.deepEqual(e.structuredData![0]!.params, [['q', 'a "b" ] c\\']]);
  assert.equal(e.timestamp, undefined);
  assert.equal(e.message, 'body');
});

test('RFC 5424 malformed: errors name the field and column', () => {
  const cases: [string, RegExp][] = [
    ['<34>1 2003-13-11T22:14:15Z host app - - - m', /bad TIMESTAMP/],
    ['<34>1 2003-10-11T22:14:15Z host app - - [broken m', /STRUCTURED-DATA/],
    ['<34>1 2003-10-11T22:14:15Z host app - -', /expected a space before STRUCTURED-DATA/],
    ['<34>1 2003-10-11T22:14:15Z host app - - x m', /expected STRUCTURED-DATA .* at column 41/],
    ['<34>1 2003-10-11T22:14:15Z  app - - - m', /bad HOSTNAME at column 28/],
    ['<192>Oct 11 22:14:15 host x: y', /PRI 192 is over 191/],
    ['no pri at all', /no <PRI>/],
    ['<abc>1 - - - - - -', /not a number/],
  ];
  for (const [text, re] of cases) {
    const r = parseSyslog(text);
    assert.equal(r.ok, false, text);
    assert.match(r.ok ? '' : r.error, re, text);
  }
});

// RFC 3164 §5.4, examples 1 to 4.
const NOW = new Date(2025, 11, 20, 12, 0, 0); // local time, 20 Dec 2025

test('RFC 3164 example 1: timestamp, host, tag', () => {
  const m = ok("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", NOW);
  assert.equal(m.version, 0);
  assert.equal(m.facility, 4);
  assert.equal(m.severity, 2);
  assert.equal(m.timestamp!.getTime(), new Date(2025, 9, 11, 22, 14, 15).getTime());
  assert.equal(m.hostname, 'mymachine');
  assert.equal(m.appName, 'su');
  assert.equal(m.message, "'su root' failed for lonvick on /dev/pts/8");
});

test('RFC 3164 example 2: space-padded day, IP host, no tag', () => {
  const m = ok('<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!', NOW);
  assert.equal(m.severity, 5);
  assert.equal(m.facility, 1);
  assert.equal(m.timestamp!.getDate(), 5);
  assert.equal(m.hostname, '10.0.0.99');
  assert.equal(m.appName, undefined);
  assert.equal(m.message, 'Use the BFG!');
});

test('RFC 3164 example 3: host "CST", the rest is content', () => {
  const m = ok("<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jumbo=OK, Grease=OK", NOW);
  assert.equal(m.hostname, 'CST');
  assert.equal(m.message, "1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jumbo=OK, Grease=OK");
});

test('RFC 3164 example 4: unreadable timestamp means no timestamp, everything after PRI is content', () => {
  const m = ok("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!", NOW);
  assert.equal(m.timestamp, undefined);
  assert.equal(m.hostname, undefined);
  assert.equal(m.message, "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!");
  assert.equal(draftFromSyslog(m, 's', 0).level, 'FATAL');
});

test('RFC 3164 variants: local sender without host, tag[pid], RFC 3339 timestamp, December message read in January', () => {
  const a = ok('<30>Oct 11 22:14:15 cron[123]: job done', NOW);
  assert.equal(a.hostname, undefined);
  assert.equal(a.appName, 'cron');
  assert.equal(a.procId, '123');
  assert.equal(a.message, 'job done');
  const b = ok('<12>2025-03-01T10:00:00.5+01:00 gw-7 modem: signal lost', NOW);
  assert.equal(b.timestamp!.toISOString(), '2025-03-01T09:00:00.500Z');
  assert.equal(b.hostname, 'gw-7');
  assert.equal(b.appName, 'modem');
  assert.equal(draftFromSyslog(b, 's', 0).level, 'WARN');
  const d = ok('<14>Feb 5 17:32:18.250 gw busybox: unpadded day, milliseconds', NOW);
  assert.equal(d.timestamp!.getTime(), new Date(2025, 1, 5, 17, 32, 18, 250).getTime());
  assert.equal(d.hostname, 'gw');
  assert.equal(d.message, 'unpadded day, milliseconds');
  const c = ok('<14>Dec 31 23:59:59 h app: last', new Date(2026, 0, 1, 0, 0, 5));
  assert.equal(c.timestamp!.getFullYear(), 2025);
});

test('framing (RFC 6587): octet counting and LF framing mixed on one stream, split at every byte', () => {
  const counted = '<13>1 - - - - - - counted\n';
  const stream = Buffer.from(`${Buffer.byteLength(counted)} <13>1 - - - - - - counted\n<13>Oct 11 22:14:15 h a: line one\r\n11 <14>x y z w<14>plain two\n`);
  const expected = ['<13>1 - - - - - - counted\n', '<13>Oct 11 22:14:15 h a: line one', '<14>x y z w', '<14>plain two'];
  for (const size of [1, 3, 7, stream.length]) {
    const got: string[] = [];
    const f = new SyslogFramer(1024, (m, cut) => {
      assert.equal(cut, false);
      got.push(m.toString());
    });
    for (let i = 0; i < stream.length; i += size) f.push(stream.subarray(i, i + size));
    f.end();
    assert.deepEqual(got, expected, `chunk size ${size}`);
  }
});

test('framing: an over-long message is cut at the bound and the next message is intact', () => {
  const got: [string, boolean][] = [];
  const f = new SyslogFramer(16, (m, cut) => got.push([m.toString(), cut]));
  f.push(Buffer.from(`40 ${'a'.repeat(40)}5 <1>ok`));
  f.push(Buffer.from(`<2>${'b'.repeat(100)}\n<3>next\n`));
  f.push(Buffer.from('9 <4>trunc'));
  f.end();
  assert.deepEqual(got, [['a'.repeat(16), true], ['<1>ok', false], [`<2>${'b'.repeat(13)}`, true], ['<3>next', false], ['<4>trunc', true]]);
});

test('framing: digits that are not a length are the start of a newline-framed line', () => {
  const got: string[] = [];
  const f = new SyslogFramer(1024, (m) => got.push(m.toString()));
  f.push(Buffer.from('2024-01-01 something happened\n'));
  f.end();
  assert.deepEqual(got, ['2024-01-01 something happened']);
});
