import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers';
import { SETTING_KEYS, SECTIONS, defaultSettings, specOf, splitKey } from '../../src/config/settings';
import { README_BEGIN, README_END, isShipped, renderReadmeOptions, renderSettingsList, renderUciDefaults } from '../../src/config/docs';
import { applyFlags, applyUci, editDistance, folderWarnings, formatProblem } from '../../src/config/resolve';
import { parseUci } from '../../src/config/uci';

test('every default is within its own bounds', () => {
  for (const key of SETTING_KEYS) {
    const spec = specOf(key);
    if (spec.type === 'int') assert.ok(spec.default >= spec.min && spec.default <= spec.max, key);
    if (spec.type === 'enum') assert.ok(spec.values.includes(spec.default), key);
    assert.ok(spec.doc.length > 10, `${key} has a doc line`);
    assert.ok(splitKey(key).section in SECTIONS, key);
  }
});

test('README option list agrees with the settings table', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const a = readme.indexOf(README_BEGIN);
  const b = readme.indexOf(README_END);
  assert.ok(a >= 0 && b > a, 'README has the settings block');
  assert.fixture(readme.slice(a, b + README_END.length), renderReadmeOptions());
});

test('files/etc/config/meshseed is short: the shipped options and every router value, read back with no problems', () => {
  const text = readFileSync(join(ROOT, 'files/etc/config/meshseed'), 'utf8');
  assert.fixture(text, renderUciDefaults());
  // read back through the real parser it yields the router's values, with no problems
  const { settings, problems } = applyUci(parseUci(text), 'config');
  assert.equal(problems, []);
  for (const key of SETTING_KEYS) {
    const spec = specOf(key);
    assert.equal(settings[key], spec.openwrt ?? spec.default, key);
  }
  // looked for in its own section: `port` is both tracker.port and dht.port
  const sectionText = (section: string) => text.split(/^(?=config )/m).find((block) => block.startsWith(`config ${SECTIONS[section as keyof typeof SECTIONS]} '${section}'`)) ?? '';
  const named = (key: (typeof SETTING_KEYS)[number]) =>
    new RegExp(`^\\t#?(option|list) ${splitKey(key).option} `, 'm').test(sectionText(splitKey(key).section));
  for (const key of SETTING_KEYS) {
    // a router value must be in the file; the rest only when marked shipped
    assert.is(named(key), isShipped(key), key);
    if (specOf(key).openwrt !== undefined) assert.ok(isShipped(key), key);
  }
  // short: OpenWrt drops the comments at the first uci commit, `meshseed config` has the docs
  assert.ok(text.split('\n').length < SETTING_KEYS.length, `${text.split('\n').length} lines`);
  assert.match(text, /meshseed config/);
});

test('meshseed config lists every option with its value, default, bounds, unit and doc; * marks a changed value', () => {
  const { settings } = applyUci(parseUci("config tracker 'tracker'\n option port 7070\nconfig seeder 'seeder'\n list mesh_tracker 'http://10.0.0.1:6969/announce'\n"), 'f');
  const lines = renderSettingsList(settings).split('\n');
  assert.is(lines.length, SETTING_KEYS.length);
  for (const [i, key] of SETTING_KEYS.entries()) {
    const { section, option } = splitKey(key);
    assert.ok(lines[i]!.startsWith(`meshseed.${section}.${option} `), lines[i]);
    assert.ok(lines[i]!.endsWith(specOf(key).doc), lines[i]);
  }
  const line = (k: string) => lines.find((l) => l.startsWith(`meshseed.${k} `))!;
  assert.match(line('tracker.port'), /^meshseed\.tracker\.port +7070 \* +\[default 6969, 1\.\.65535\] Port for both/);
  assert.match(line('tracker.interval'), /^meshseed\.tracker\.interval +120 s +\[default 120 s, 30\.\.86400\]/);
  assert.match(line('seeder.upload_rate'), /256 KiB\/s +\[default 256 KiB\/s, 0\.\.10000000\]/);
  assert.match(line('seeder.mesh_tracker'), /http:\/\/10\.0\.0\.1:6969\/announce \* +\[list, default none\]/);
  assert.match(line('tracker.address'), /\(none\) +\[list, default none\]/);
});

test('bad values are named by section, option and line; good ones still apply', () => {
  const doc = parseUci(`config meshseed 'main'
  option log_level 'loud'
config tracker 'tracker'
  option port '70000'
  option interval '600'
  option bogus 1
  list address 'not-an-ip'
config seeder 'seeder'
  option upload_rate '-5'
  list mesh_tracker 'http://10.0.0.1:6969/announce'
  option enabled maybe
config lpd 'lpd'
  list interface 'br-mesh'
config firewall 'x'
`);
  const { settings, problems } = applyUci(doc, '/etc/config/meshseed');
  assert.equal(problems.map(formatProblem), [
    "meshseed.main.log_level: 'loud' is not one of error, warn, info, debug (line 2)",
    'meshseed.tracker.port: 70000 is out of range 1..65535 (line 4)',
    'meshseed.tracker.bogus: unknown option (line 6)',
    "meshseed.tracker.address: 'not-an-ip' is not an IPv4 or IPv6 address (line 7)",
    'meshseed.seeder.upload_rate: -5 is out of range 0..10000000 KiB/s (line 9)',
    "meshseed.seeder.enabled: 'maybe' is not a boolean (use 1 or 0) (line 11)",
    "meshseed.x: unknown section (expected config meshseed 'main', config tracker 'tracker', config seeder 'seeder', config lpd 'lpd', config dht 'dht') (line 14)",
  ]);
  assert.is(settings['tracker.port'], 6969, 'bad value keeps the default');
  assert.is(settings['tracker.interval'], 600);
  assert.equal(settings['seeder.mesh_tracker'], ['http://10.0.0.1:6969/announce']);
  assert.equal(settings['lpd.interface'], ['br-mesh']);
});

test('list given as option is one item; option given as list is an error', () => {
  const { settings, problems } = applyUci(
    parseUci(`config lpd 'lpd'\n option interface br-lan\nconfig tracker 'tracker'\n list port 1\n list port 2`),
    'f',
  );
  assert.equal(settings['lpd.interface'], ['br-lan']);
  assert.match(formatProblem(problems[0]!), /meshseed.tracker.port: is a single value, not a list .* \(line 5\)/);
});

test('CLI flags override the file', () => {
  const s = defaultSettings();
  const problems = applyFlags(
    { 'tracker-port': '7000', 'state-dir': '/tmp/x', 'seeder-mesh-tracker': ['udp://10.0.0.1:6969', 'http://10.0.0.2/announce'], 'lpd-ipv6': '0' },
    s,
  );
  assert.equal(problems, []);
  assert.is(s['tracker.port'], 7000);
  assert.is(s['main.state_dir'], '/tmp/x');
  assert.is(s['lpd.ipv6'], false);
  assert.equal(s['seeder.mesh_tracker'], ['udp://10.0.0.1:6969', 'http://10.0.0.2/announce']);
  assert.match(formatProblem(applyFlags({ 'tracker-port': 'x' }, s)[0]!), /--tracker-port: 'x' is not a whole number/);
});

test('only the named sections are read, as the init script reads them: others of those types are problems naming the line', () => {
  const { settings, problems } = applyUci(
    parseUci(`config seeder 'seeder'
  option upload_rate '100'
config seeder
  option upload_rate '5'
config seeder '__proto__'
  option data_dir '/elsewhere'
config tracker 'constructor'
  option port '1'
config lpd 'lan'
  option enabled '0'
`),
    'f',
  );
  assert.equal(problems.map(formatProblem), [
    "meshseed.@seeder: an anonymous section of type seeder is ignored: only config seeder 'seeder' is read (line 3)",
    "meshseed.__proto__: section '__proto__' of type seeder is ignored: only config seeder 'seeder' is read (line 5)",
    "meshseed.constructor: section 'constructor' of type tracker is ignored: only config tracker 'tracker' is read (line 7)",
    "meshseed.lan: section 'lan' of type lpd is ignored: only config lpd 'lpd' is read (line 9)",
  ]);
  assert.is(settings['seeder.upload_rate'], 100);
  assert.is(settings['seeder.data_dir'], './data');
  assert.is(settings['tracker.port'], 6969);
  assert.is(settings['lpd.enabled'], true);
});

test('unknown options get "did you mean" (case aside, edit distance at most 2), or the section they belong to', () => {
  const { problems } = applyUci(
    parseUci(`config seeder 'seeder'
  option Download '1'
  option enabeld '1'
  option upload_rat '5'
  option port '6969'
  option wibble '1'
config dht 'dht'
  option listen_port '6881'
`),
    'f',
  );
  assert.equal(problems.map(formatProblem), [
    'meshseed.seeder.Download: unknown option (did you mean download?) (line 2)',
    'meshseed.seeder.enabeld: unknown option (did you mean enabled?) (line 3)',
    'meshseed.seeder.upload_rat: unknown option (did you mean upload_rate?) (line 4)',
    "meshseed.seeder.port: unknown option (port is an option of config tracker 'tracker') (line 5)",
    'meshseed.seeder.wibble: unknown option (line 6)',
    "meshseed.dht.listen_port: unknown option (listen_port is an option of config seeder 'seeder') (line 8)",
  ]);
  assert.is(editDistance('enabeld', 'enabled'), 2);
  assert.is(editDistance('abc', 'abc'), 0);
  assert.is(editDistance('a', 'abcdef'), 3, 'stops past the limit');
});

test('folderWarnings: relative state_dir (and torrent_dir, data_dir with the seeder on), with the line when the file set it', () => {
  const r = applyUci(parseUci(`config meshseed 'main'\n  option state_dir 'state'\nconfig seeder 'seeder'\n  option data_dir '/mnt/d'\n`), 'f');
  assert.equal(r.problems, []);
  assert.equal(folderWarnings(r).map(formatProblem), [
    "meshseed.main.state_dir: 'state' is not an absolute folder: the init script refuses it; give one such as /mnt/meshseed/state (line 2)",
    "meshseed.seeder.torrent_dir: './torrents' is not an absolute folder (the built-in default, for a development machine): the init script refuses it; give one such as /mnt/meshseed/torrents",
  ]);
  const off = applyUci(parseUci(`config meshseed 'main'\n  option state_dir '/s'\nconfig seeder 'seeder'\n  option enabled '0'\n`), 'f');
  assert.equal(folderWarnings(off), []);
});

test.run();
