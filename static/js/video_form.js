// The new-video form: narrows size, duration, variants and the extra inputs (last frame,
// reference images, what to leave out, a seed, sound) to what the chosen model accepts,
// counts the prompt's characters, previews the start frame and checks its pixel size, and
// shows what the video costs of today's budget. The server checks everything again.
(() => {
  "use strict";
  const form = document.getElementById("video-form");
  const optionsNode = document.getElementById("model-options");
  if (!form || !optionsNode) return;
  const options = JSON.parse(optionsNode.textContent);
  const field = (name) => form.elements.namedItem(name);
  const prompt = field("prompt");
  const model = field("model");
  const size = field("size");
  const seconds = field("seconds");
  const variants = field("n_variants");
  const image = field("image");
  const counter = document.getElementById("prompt-count");
  const variantsField = document.getElementById("variants-field");
  const imageField = document.getElementById("image-field");
  const hint = document.getElementById("image-hint");
  const preview = document.getElementById("image-preview");
  const previewImage = preview.querySelector("img");
  const previewFrame = document.getElementById("image-frame");
  const fit = field("input_fit");
  const fitField = document.getElementById("fit-field");
  const clearImage = document.getElementById("image-clear");
  const cost = document.getElementById("cost");
  const lastFrame = field("last_frame");
  const lastFrameField = document.getElementById("last-frame-field");
  const negativeField = document.getElementById("negative-prompt-field");
  const references = field("reference_images");
  const referencesField = document.getElementById("references-field");
  const seedField = document.getElementById("seed-field");
  const audio = field("audio");
  const audioField = document.getElementById("audio-field");
  const audioNote = document.getElementById("audio-note");
  const secondsLeft = Number(form.dataset.secondsLeft);
  const maxImageBytes = Number(form.dataset.maxImageBytes);
  const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"];
  const times = (text) => text.replace("x", "\u00d7");
  const kilobytes = (bytes) => `${Math.round(bytes / 1024).toLocaleString()} KB`;

  // The page lists every model's choices; remember their labels to rebuild narrower lists.
  const labelsOf = (select) => new Map(Array.from(select.options, (option) => [option.value, option.textContent]));
  const sizeLabels = labelsOf(size);
  const secondsLabels = labelsOf(seconds);

  const fill = (select, values, labels, preferred) => {
    const allowed = values.map(String);
    const keep = [select.value, String(preferred)].find((value) => allowed.includes(value)) ?? allowed[0];
    select.replaceChildren(...allowed.map((value) => new Option(labels.get(value) ?? value, value)));
    select.value = keep;
  };

  const chosen = () => options[model.value];

  // --- prompt ---
  const countPrompt = () => {
    const max = Number(counter.dataset.max);
    // Characters as the server counts them: code points, and a line break arrives as two.
    const text = prompt.value;
    const used = [...text].length + (text.match(/\n/g) || []).length;
    counter.textContent = `${used.toLocaleString()} / ${max.toLocaleString()} characters`;
    counter.classList.toggle("near", used > max * 0.9 && used <= max);
    counter.classList.toggle("over", used > max);
  };

  // --- start frame ---
  const setHint = (kind, text, switchTo) => {
    hint.className = `hint ${kind}`;
    hint.textContent = text;
    if (switchTo) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small secondary";
      button.textContent = `Use ${times(switchTo)} for the video`;
      button.addEventListener("click", () => {
        size.value = switchTo;
        onSize();
        size.focus();
      });
      hint.append(" ", button);
    }
  };

  // The preview box has the video's shape; the picture fills it (crop) or fits inside (pad).
  const showFit = () => {
    const [width, height] = size.value.split("x").map(Number);
    if (width && height) previewFrame.style.aspectRatio = `${width} / ${height}`;
    previewFrame.className = `frame ${fit.value || "crop"}`;
    fitField.hidden = !(image.files && image.files[0]) && !(lastFrame.files && lastFrame.files[0]);
  };

  const FIT_WORDS = {
    crop: "it will be cropped to fill the frame, as the preview shows.",
    pad: "it will be fitted inside, with black bars, as the preview shows.",
    exact: "they must be the same size.",
  };

  const compareImage = () => {
    const file = image.files && image.files[0];
    const wanted = times(size.value);
    showFit();
    if (!file) {
      setHint(
        "",
        fit.value === "exact"
          ? `For ${wanted} videos the image must be exactly ${wanted} pixels.`
          : `Any size: the image is fitted to the ${wanted} frame.`,
      );
      return;
    }
    if (!IMAGE_TYPES.includes(file.type)) {
      setHint("warn", `This file is ${file.type || "of an unknown type"}: choose a JPEG, PNG or WebP image.`);
      return;
    }
    if (file.size > maxImageBytes) {
      setHint("warn", `This image is ${kilobytes(file.size)}; the limit is ${kilobytes(maxImageBytes)}.`);
      return;
    }
    if (!previewImage.complete || !previewImage.naturalWidth) return; // compared again once loaded
    const actual = `${previewImage.naturalWidth}x${previewImage.naturalHeight}`;
    if (actual === size.value) {
      setHint("ok", `${times(actual)} pixels: matches the video's size.`);
    } else {
      const option = chosen();
      const fits = option && option.sizes.includes(actual) ? actual : null;
      const kind = fit.value === "exact" ? "warn" : "";
      setHint(kind, `This image is ${times(actual)}, but the video is ${wanted}: ${FIT_WORDS[fit.value || "crop"]}`, fits);
    }
  };

  const showImage = () => {
    const file = image.files && image.files[0];
    if (previewImage.src) URL.revokeObjectURL(previewImage.src);
    previewImage.removeAttribute("src");
    preview.hidden = !file || !IMAGE_TYPES.includes(file.type);
    if (!preview.hidden) previewImage.src = URL.createObjectURL(file);
    compareImage();
  };
  previewImage.addEventListener("load", compareImage);
  previewImage.addEventListener("error", () => {
    preview.hidden = true;
    setHint("warn", "This file cannot be read as an image.");
  });

  // --- what it costs ---
  const showCost = () => {
    const total = Number(seconds.value) * Number(variants.value || 1);
    if (!total) return;
    const over = total > secondsLeft;
    cost.classList.toggle("over", over);
    cost.textContent = over
      ? `This video needs ${total} seconds of your daily budget, but only ${secondsLeft} are left today.`
      : `This video uses ${total} of the ${secondsLeft} seconds you have left today.`;
  };

  // --- dependent choices ---
  function onSize() {
    const option = chosen();
    if (!option) return;
    const durations = (option.seconds_by_size && option.seconds_by_size[size.value]) || option.seconds;
    fill(seconds, durations, secondsLabels, seconds.value || 4);
    const limit = option.variants[size.value] || 1;
    const counts = Array.from({ length: limit }, (_, i) => String(i + 1));
    fill(variants, counts, new Map(counts.map((n) => [n, n])), "1");
    variantsField.hidden = limit <= 1;
    compareImage();
    showCost();
  }

  function onModel() {
    const option = chosen();
    if (!option) return;
    fill(size, option.sizes, sizeLabels, option.default_size);
    fill(seconds, option.seconds, secondsLabels, 4);
    imageField.hidden = !option.image;
    if (!option.image && image.value) {
      image.value = "";
      showImage();
    }
    lastFrameField.hidden = !option.last_frame;
    if (!option.last_frame) lastFrame.value = "";
    negativeField.hidden = !option.negative_prompt;
    seedField.hidden = !option.seed;
    referencesField.hidden = !option.reference_images;
    if (!option.reference_images) references.value = "";
    const referenceHelp = referencesField.querySelector(".help");
    if (referenceHelp && option.reference_images) {
      const at = option.reference_seconds.length ? ` (${option.reference_seconds.join(", ")}-second videos)` : "";
      referenceHelp.textContent = `Up to ${option.reference_images}${at}: people, objects or a style the video should show; any size.`;
    }
    // Sound: a choice only where the model can be silent; otherwise the box says what it does.
    audioField.hidden = option.audio === "none";
    audio.disabled = option.audio !== "optional";
    if (option.audio === "always") audio.checked = true;
    audioNote.textContent =
      option.audio === "always" ? "This model always makes sound." : option.audio === "optional" ? "Untick for a silent video." : "";
    onSize();
  }

  prompt.addEventListener("input", countPrompt);
  model.addEventListener("change", onModel);
  size.addEventListener("change", onSize);
  seconds.addEventListener("change", showCost);
  variants.addEventListener("change", showCost);
  image.addEventListener("change", showImage);
  fit.addEventListener("change", compareImage);
  lastFrame.addEventListener("change", showFit);
  clearImage.addEventListener("click", () => {
    image.value = "";
    showImage();
    image.focus();
  });
  countPrompt();
  onModel();
  showImage();
})();
