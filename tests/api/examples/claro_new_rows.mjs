// The task contract's JavaScript example (docs.getclaro.ai, "Create New Rows Task"), unchanged
// but for the host, key and ids, which come from the environment; then the documented status
// call. Prints the two responses as JSON lines.
const BASE = process.env.SKUFLOW_URL; // https://secure-api.getclaro.ai in the original
const API_KEY = process.env.SKUFLOW_KEY;

const datasetId = process.env.DATASET_ID; // Replace with your dataset ID
const taskRequest = {
  rowCount: 100,
  webhookId: process.env.WEBHOOK_ID, // Optional webhook for completion notification
};

const response = await fetch(
  `${BASE}/api/v2/datasets/${datasetId}/tasks/new-rows`,
  {
    method: "POST",
    headers: {
      Authorization: `Bearer ${API_KEY}`,
      "Content-Type": "application/json",
    },
    body: JSON.stringify(taskRequest),
  }
);
const task = await response.json();
console.log(JSON.stringify({ status: response.status, body: task }));

const status = await fetch(
  `${BASE}/api/v2/datasets/${datasetId}/tasks/${task.taskId}`,
  { headers: { Authorization: `Bearer ${API_KEY}` } }
);
console.log(JSON.stringify({ status: status.status, body: await status.json() }));
