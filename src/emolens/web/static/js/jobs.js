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

  async function poll(url, progress) {
    for (;;) {
      const response = await fetch(url);
      const job = await response.json();
      if (!response.ok) throw new Error(job.detail || `The server answered ${response.status}.`);
      if (job.status === "done") return job;
      if (job.status === "failed" || job.status === "cancelled") throw new Error(job.error || `The job was ${job.status}.`);
      const total = job.frame_count ? ` of ${job.frame_count}` : "";
      progress(job.status === "queued" ? "Waiting for the analyser…" : `Analysing: frame ${job.frames_done}${total}`, job.progress);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  return { upload, poll };
})();
