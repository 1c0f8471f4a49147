import { strict as assert } from "assert";
import { Running, startScript, startWscat } from "./support/processes";
import { STARTUP_MS } from "./support/within";

/**
 * The README's walk through rooms, `-s chat.v1`, `history` and `who`, replayed word for word
 * with the real wscat against `npm start`.
 */
describe("npm start and the README's rooms walkthrough with wscat", function () {
  this.timeout(90_000);
  const running: Running[] = [];
  const track = (r: Running) => (running.push(r), r);
  afterEach(() => {
    for (const r of running.splice(0)) r.kill();
  });

  it("two rooms in two wscat pairs: messages stay in their room, chat.v1 gets frames, history and who answer", async () => {
    const server = track(startScript("npm start", "local/main.ts", "--port", "0"));
    const [, url] = await server.waitFor(
      /npx wscat -c (ws:\/\/127\.0\.0\.1:\d+\/dev)\n/,
      STARTUP_MS,
    );
    assert.ok(
      server.text.includes(`npx wscat -c '${url}?room=red&name=Ann' -s chat.v1`),
      "the banner shows how to join a room",
    );
    assert.match(server.text, /> \{"action":"history"\} {3}> \{"action":"who"\}/);
    const connected = /Connected \(press CTRL\+C to quit\)/;
    // Red room: Bob speaks chat.v1, Ann is a plain client. Blue room: Cy and Dee, both plain.
    const bob = track(startWscat(`${url}?room=red&name=Bob`, "-s", "chat.v1"));
    await bob.waitFor(connected, STARTUP_MS);
    const ann = track(startWscat(`${url}?room=red&name=Ann`));
    await ann.waitFor(connected, STARTUP_MS);
    await bob.waitFor(/< \{"type":"joined","room":"red","name":"Ann","at":"[^"]+"\}/);
    const cy = track(startWscat(`${url}?room=blue&name=Cy`));
    const dee = track(startWscat(`${url}?room=blue&name=Dee`));
    await cy.waitFor(connected, STARTUP_MS);
    await dee.waitFor(connected, STARTUP_MS);

    ann.write('{"action":"sendmessage", "data":"hello red"}\r');
    await ann.waitFor(/< hello red/);
    await bob.waitFor(
      /< \{"type":"message","room":"red","from":"Ann","data":"hello red","sentAt":"[^"]+","id":"[0-9A-Z]{26}","seq":1\}/,
    );
    cy.write('{"action":"sendmessage", "data":"hello blue"}\r');
    await dee.waitFor(/< hello blue/);
    await cy.waitFor(/< hello blue/);

    bob.write('{"action":"history"}\r');
    await bob.waitFor(
      /< \{"type":"history","room":"red","messages":\[\{"type":"message","room":"red","from":"Ann","data":"hello red",[^\]]*\],"latestSeq":1\}/,
    );
    dee.write('{"action":"who"}\r');
    await dee.waitFor(/< \{"type":"presence","room":"blue","count":2,"names":\["Cy","Dee"\]\}/);

    for (const [client, other] of [
      [ann, "blue"],
      [bob, "blue"],
      [cy, "red"],
      [dee, "red"],
    ] as const) {
      assert.ok(!client.text.includes(`hello ${other}`), `${other}'s message stayed in ${other}`);
    }
  });
});
