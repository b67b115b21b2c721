/* Video jobs, shared by the Video page and the satisfaction dashboard:
   upload a file with progress (expects 202 + {url}), then poll the job until it is done. */
"use strict";
window.EmolensJobs = (function () {
  function upload(url, file, progress, csrf) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      if (csrf) xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.responseType = "json";
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress(`Uploading ${file.name}…`, e.loaded / e.total); };
      xhr.onload = () => (xhr.status === 202 ? resolve(xhr.response)
        : reject(new Error((xhr.response && xhr.response.detail) || `The server answered ${xhr.status}.`)));
      xhr.onerror = () => reject(new Error("Could not reach the server: is it still running?"));
      const data = new FormData();
      data.append("video", file, file.name);
      xhr.send(data);
    });
  }

  /* 75 -> "1 min 15 s" (as emolens.inference.eta.format_duration says it). */
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    if (s < 600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
    if (s < 3600) return `${Math.round(s / 60)} min`;
    const m = Math.round(s / 60);
    return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m / 60} h`;
  }

  async function poll(url, progress) {
    for (;;) {
      const response = await fetch(url);
      const job = await response.json();
      if (!response.ok) throw new Error(job.detail || `The server answered ${response.status}.`);
      if (job.status === "done") return job;
      if (job.status === "failed" || job.status === "cancelled") throw new Error(job.error || `The job was ${job.status}.`);
      const total = job.frame_count ? ` of ${job.frame_count}` : "";
      const eta = job.eta_s == null ? "" : ` · about ${duration(job.eta_s)} left`;
      progress(job.status === "queued" ? "Waiting for the analyser…" : `Analysing: frame ${job.frames_done}${total}${eta}`, job.progress);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  return { upload, poll, duration };
})();
