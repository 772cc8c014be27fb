// The typing record both platforms' composers keep, as platforms that look for automation
// do: every `input` event (when, how many graphemes it inserted, its inputType), sent with
// the message. Shared by fanbox's chat.js and velvet.js.
"use strict";

function recordCadence(composer) {
  const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  let events = [];
  let previousValue = composer.value;

  function countGraphemes(text) {
    let count = 0;
    for (const _ of segmenter.segment(text)) count += 1;
    return count;
  }

  function insertedGraphemes(event) {
    const type = event.inputType || "";
    if (type.startsWith("delete")) return 0;
    if (event.data !== null && event.data !== undefined) return countGraphemes(event.data);
    if (type === "insertLineBreak" || type === "insertParagraph") return 1;
    // Paste, drop and undo/redo carry no data on a textarea: measure what the text gained.
    return Math.max(0, countGraphemes(composer.value) - countGraphemes(previousValue));
  }

  composer.addEventListener("input", (event) => {
    events.push({
      t_ms: performance.now(),
      graphemes: insertedGraphemes(event),
      input_type: event.inputType || "",
    });
    previousValue = composer.value;
  });

  return {
    events: () => events,
    reset: () => {
      events = [];
      previousValue = "";
    },
  };
}
