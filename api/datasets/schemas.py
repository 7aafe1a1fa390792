"""Request and response bodies of the dataset-task contract (seed 002), in its camelCase."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.datasets.ids import NulFreeModel
from api.datasets.tasks import MAX_NEW_ROWS
from api.outbound import OutboundUrl


class ColumnPublic(BaseModel):
    columnId: str
    name: str
    type: str
    description: str
    unit: str | None
    enum: list[str] | None
    taskType: str | None
    position: int


class DatasetPublic(BaseModel):
    datasetId: str
    name: str
    description: str
    type: str
    status: str = Field(description="`locked` while a task runs on it, else `ready`.")
    locked: bool
    lockedByTaskId: str | None
    rowCount: int
    pendingSourceRows: int = Field(description="Source rows a new-rows task can still add.")
    columnCount: int
    createdAt: datetime
    updatedAt: datetime


class DatasetDetail(DatasetPublic):
    columns: list[ColumnPublic]


class Pagination(BaseModel):
    page: int
    limit: int
    total: int
    totalPages: int


class DatasetList(BaseModel):
    datasets: list[DatasetPublic]
    pagination: Pagination


class CellPublic(BaseModel):
    cellId: str
    columnId: str
    value: Any
    metadata: dict[str, Any]


class RowPublic(BaseModel):
    rowId: str
    cells: list[CellPublic]


class DatasetData(BaseModel):
    datasetId: str
    columns: list[ColumnPublic]
    data: list[list[Any]] = Field(description="The page's values, one list per row.")
    rows: list[RowPublic]
    pagination: Pagination


class CellUpdate(NulFreeModel):
    model_config = ConfigDict(extra="forbid")

    value: Any = Field(description="The new value; null or blank empties the cell.")


class NewRowsTaskCreate(NulFreeModel):
    model_config = ConfigDict(extra="forbid")

    rowCount: int = Field(ge=1, le=MAX_NEW_ROWS, description="Rows to add (max 10000).")
    webhookId: str | None = Field(None, max_length=64)


class BulkTaskCreate(NulFreeModel):
    model_config = ConfigDict(extra="forbid")

    cellIds: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=100_000)
    columnIds: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=500)
    rowIds: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=100_000)
    processOnlyEmpty: bool = True
    webhookId: str | None = Field(None, max_length=64)


class TaskProgress(BaseModel):
    totalCells: int
    processedCells: int
    filledCells: int
    failedCells: int
    rowsAdded: int
    percentage: float


class TaskPublic(BaseModel):
    taskId: str
    datasetId: str
    type: str
    status: str = Field(description="queued | processing | completed | failed | cancelled")
    progress: TaskProgress
    parameters: dict[str, Any]
    webhookId: str | None
    creditsUsed: float
    error: str | None
    createdAt: str | None
    startedAt: str | None
    completedAt: str | None


class TaskCancelled(BaseModel):
    success: bool
    message: str
    task: TaskPublic


class WebhookCreate(NulFreeModel):
    name: str = Field("", max_length=200)
    url: OutboundUrl
    events: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=lambda: ["dataset.task.completed", "dataset.task.failed"], max_length=50
    )
    secret: str | None = Field(None, min_length=16, max_length=200)


class WebhookCreated(BaseModel):
    webhookId: str
    name: str
    url: str
    events: list[str]
    status: str
    secret: str = Field(description="The HMAC-SHA256 signing secret; shown only here.")
    createdAt: datetime


class DeliveryLog(BaseModel):
    deliveryId: str
    event: str
    status: str
    attempts: int
    responseStatus: int | None
    lastError: str | None
    createdAt: datetime
    deliveredAt: datetime | None


class WebhookDetail(BaseModel):
    webhookId: str
    url: str
    events: list[str]
    status: str
    createdAt: datetime
    deliveries: list[DeliveryLog] = Field(description="The latest 20 deliveries, newest first.")
